#pragma once
// The error message of a Result or Status, or "" when it succeeded: for tests that compare.
#include <string>

namespace shoal::test {

template <typename R>
std::string error_of(const R& r) {
    return r ? std::string() : r.error();
}

}  // namespace shoal::test
