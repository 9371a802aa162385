#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
static void h(struct evhttp_request* r, void* a) {
    struct evbuffer* b = evbuffer_new();
    evbuffer_add_printf(b, "shoal_up 1\n");
    evhttp_send_reply(r, 200, "OK", b);
    evbuffer_free(b);
}
int main() {
    struct event_base* base = event_base_new();
    struct evhttp* http = evhttp_new(base);
    evhttp_set_cb(http, "/metrics", h, 0);
    if (evhttp_bind_socket(http, "127.0.0.1", 19473)) return 1;
    event_base_dispatch(base);
}
