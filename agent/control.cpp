#include "agent/control.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace shoal::agent {

namespace {
constexpr std::size_t kMaxRequest = 4096;

struct Connection {
    uv_pipe_t pipe{};
    std::string in;
    std::string out;
    uv_write_t write{};
    Control::Handler* handler = nullptr;
    bool answered = false;
};

void close_connection(Connection* c) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->pipe),
             [](uv_handle_t* h) { delete static_cast<Connection*>(h->data); });
}

void answer(Connection* c, const Control::Reply& r) {
    c->answered = true;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->pipe));
    c->out = (r.ok ? "ok\n" : "error\n") + r.body;
    uv_buf_t buf = uv_buf_init(c->out.data(), static_cast<unsigned>(c->out.size()));
    c->write.data = c;
    uv_write(&c->write, reinterpret_cast<uv_stream_t*>(&c->pipe), &buf, 1,
             [](uv_write_t* w, int) { close_connection(static_cast<Connection*>(w->data)); });
}

bool someone_listens(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return up;
}

// Only a leftover socket of ours is removed: the path is a setting, and unlinking whatever is
// there would let a typo, or a name planted by someone else, delete any file.
Status remove_stale_socket(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return Error{"socket: cannot stat " + path + ": " + std::strerror(errno)};
    }
    if (!S_ISSOCK(st.st_mode))
        return Error{"socket: " + path + " exists and is not a socket; refusing to remove it"};
    if (st.st_uid != ::geteuid())
        return Error{"socket: " + path + " is a socket of uid " + std::to_string(st.st_uid) +
                     ", not ours; refusing to remove it"};
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return Error{"socket: cannot remove the stale " + path + ": " + std::strerror(errno)};
    return {};
}
}  // namespace

Control::Control(uv_loop_t* loop, Handler handler) : loop_(loop), handler_(std::move(handler)) {}

Status Control::listen(const std::string& path) {
    if (path.size() >= sizeof(sockaddr_un::sun_path))
        return Error{"socket: path too long: " + path};
    if (someone_listens(path)) return Error{"socket: another agent is already serving " + path};
    if (auto removed = remove_stale_socket(path); !removed) return removed;
    if (auto slash = path.find_last_of('/'); slash != std::string::npos && slash > 0)
        ::mkdir(path.substr(0, slash).c_str(), 0755);
    uv_pipe_init(loop_, &server_, 0);
    server_.data = this;
    // The socket is 0600 from the moment bind makes it: a chmod afterwards would leave a window in
    // which any local user could connect and ask for anything. The umask is the process's, but
    // nothing else creates files while the agent starts (civetweb's threads never do).
    const mode_t umask_before = ::umask(0177);
    const int bound = uv_pipe_bind(&server_, path.c_str());
    ::umask(umask_before);
    if (bound < 0) return Error{"socket: cannot bind " + path + ": " + uv_strerror(bound)};
    // Said again explicitly, without following a symlink: were the name swapped for one since
    // bind, its target's mode would not be ours to change.
    if (::fchmodat(AT_FDCWD, path.c_str(), 0600, AT_SYMLINK_NOFOLLOW) != 0)
        return Error{"socket: cannot set the mode of " + path + ": " + std::strerror(errno)};
    if (int rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 16, &Control::on_connection);
        rc < 0)
        return Error{"socket: cannot listen on " + path + ": " + uv_strerror(rc)};
    path_ = path;
    return {};
}

void Control::on_connection(uv_stream_t* server, int status) {
    if (status < 0) return;
    auto* self = static_cast<Control*>(server->data);
    auto* c = new Connection;  // owned by its libuv handle; freed in its close callback
    c->handler = &self->handler_;
    uv_pipe_init(self->loop_, &c->pipe, 0);
    c->pipe.data = c;
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->pipe)) != 0) {
        close_connection(c);
        return;
    }
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&c->pipe),
        [](uv_handle_t*, size_t, uv_buf_t* buf) {
            static char storage[1024];
            buf->base = storage;
            buf->len = sizeof(storage);
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
            auto* c = static_cast<Connection*>(s->data);
            if (c->answered) return;
            if (n < 0) {
                close_connection(c);
                return;
            }
            c->in.append(buf->base, static_cast<std::size_t>(n));
            auto nl = c->in.find('\n');
            if (nl == std::string::npos && c->in.size() < kMaxRequest) return;
            if (nl == std::string::npos) {
                answer(c, Control::Reply{false, "request too long\n"});
                return;
            }
            answer(c, (*c->handler)(c->in.substr(0, nl)));
        });
}

Control::Reply call_agent(const std::string& socket_path, const std::string& line) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return {false, std::string("cannot create a socket: ") + std::strerror(errno) + "\n"};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        std::string err = std::strerror(errno);
        ::close(fd);
        return {false, "no agent is running at " + socket_path + " (" + err + ")\n"};
    }
    std::string req = line + "\n";
    if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
        ::close(fd);
        return {false, "cannot send the request to the agent\n"};
    }
    std::string reply;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;)
        reply.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    auto nl = reply.find('\n');
    if (nl == std::string::npos)
        return {false, "the agent closed the connection without answering\n"};
    return {reply.substr(0, nl) == "ok", reply.substr(nl + 1)};
}

}  // namespace shoal::agent
