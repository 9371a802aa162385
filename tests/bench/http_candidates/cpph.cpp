#include <httplib.h>
int main() {
    httplib::Server s;
    s.new_task_queue = [] { return new httplib::ThreadPool(1); };
    s.Get("/metrics", [](const httplib::Request&, httplib::Response& r) {
        r.set_content("shoal_up 1\n", "text/plain");
    });
    s.listen("127.0.0.1", 19474);
}
