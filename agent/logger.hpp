#pragma once
// The agent's log: one line per event on stderr, "level: text", below the threshold dropped.
#include <cstdio>
#include <string_view>

#include "gossip/membership/events.hpp"

namespace shoal::agent {

class Logger {
  public:
    explicit Logger(LogLevel threshold) : threshold_(threshold) {}
    void set_threshold(LogLevel l) { threshold_ = l; }

    void operator()(LogLevel level, std::string_view text) const {
        if (level >= threshold_) write(level, text);
    }
    void operator()(const LogLine& l) const { (*this)(l.level, l.text); }
    // An answer to the operator's own action, shown whatever the threshold.
    void notice(std::string_view text) const { write(LogLevel::Info, text); }

  private:
    static void write(LogLevel level, std::string_view text) {
        std::fprintf(stderr, "%s: %.*s\n", to_string(level), static_cast<int>(text.size()),
                     text.data());
    }
    LogLevel threshold_;
};

}  // namespace shoal::agent
