#pragma once
// The kernel tests' view from outside: what `ip`, `nft` and `iptables` print about the private
// network namespace the test process made for itself.
#include <cstdio>
#include <string>

namespace shoal::test {

// Runs `cmd` through the shell; its stdout and stderr together.
inline std::string run(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return "popen failed";
    char buf[512];
    while (std::fgets(buf, sizeof(buf), p)) out += buf;
    ::pclose(p);
    return out;
}

}  // namespace shoal::test
