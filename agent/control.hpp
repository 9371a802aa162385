#pragma once
// The agent's Unix control socket (mode 0600). One request per connection: a line such as
// "members json", answered with "ok\n" or "error\n" and a body, then the connection closes.
#include <uv.h>

#include <functional>
#include <string>

#include "common/result.hpp"

namespace shoal::agent {

class Control {
  public:
    struct Reply {
        bool ok = true;
        std::string body;
    };
    using Handler = std::function<Reply(const std::string& line)>;

    Control(uv_loop_t* loop, Handler handler);
    Control(const Control&) = delete;
    Control& operator=(const Control&) = delete;
    // Refuses to take over a socket another agent is serving; removes a stale one only when it is
    // a socket of our uid (anything else at the path is an error, left alone).
    [[nodiscard]] Status listen(const std::string& path);

  private:
    static void on_connection(uv_stream_t* server, int status);
    uv_loop_t* loop_;
    Handler handler_;
    uv_pipe_t server_{};
    std::string path_;
};

// The client side: sends `line`, returns the reply, or an error when no agent answers.
Control::Reply call_agent(const std::string& socket_path, const std::string& line);

}  // namespace shoal::agent
