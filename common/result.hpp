#pragma once
// The one way an expected failure is returned in shoal: a value or an error message, and a
// status that is only an error message or nothing. Both are [[nodiscard]]: a dropped error does
// not compile quietly. The message is for a human: it names the setting, file or peer involved.
//
//   Result<Config> make(...);          if (!r) return r.error();   use *r or r->field
//   Status save(...);                  if (auto s = save(...); !s) log(s.error());
//
// (std::expected would do, but clang 14, which builds the fuzz target, cannot use libstdc++ 12's.)
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace shoal {

// An error message on its way into a Result or Status: `return Error{"network: not set"};`.
struct Error {
    std::string message;
};

template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error e) : v_(std::in_place_index<1>, std::move(e.message)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    // Only when !ok().
    const std::string& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, std::string> v_;
};

class [[nodiscard]] Status {
  public:
    Status() = default;  // success
    Status(Error e) : error_(std::move(e.message)) {}
    static Status success() { return {}; }

    bool ok() const { return !error_; }
    explicit operator bool() const { return ok(); }
    // Only when !ok().
    const std::string& error() const { return *error_; }

  private:
    std::optional<std::string> error_;
};

}  // namespace shoal
