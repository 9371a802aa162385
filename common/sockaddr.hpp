#pragma once
// Address as the socket API takes it: for the code that does IO (the agent, the benchmark
// tools), kept out of address.hpp so that the sans-IO core needs no socket headers.
#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/address.hpp"

namespace shoal {

inline sockaddr_in to_sockaddr(const Address& a) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_addr.s_addr = htonl(a.ip);
    s.sin_port = htons(a.port);
    return s;
}

}  // namespace shoal
