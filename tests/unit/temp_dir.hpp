#pragma once
// What the tests of files the agent writes share: a scratch directory removed at the end of the
// test, and the pod network 10.244.0.0/16 the files describe.
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "gossip/ownership/network_config.hpp"

namespace shoal::test {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/shoal-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

inline const NetworkConfig& pod_network() {
    static const auto n = *NetworkConfig::make({"10.244.0.0/16"});
    return n;
}

}  // namespace shoal::test
