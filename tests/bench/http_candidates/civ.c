#include <civetweb.h>
#include <string.h>
#include <unistd.h>
static int h(struct mg_connection* c, void* d) {
    mg_printf(c, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\nshoal_up 1\n");
    return 200;
}
int main() {
    const char* o[] = {"listening_ports", "127.0.0.1:19472", "num_threads", "1", 0};
    mg_init_library(0);
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    struct mg_context* ctx = mg_start(&cb, 0, o);
    if (!ctx) return 1;
    mg_set_request_handler(ctx, "/metrics", h, 0);
    pause();
}
