#include <microhttpd.h>
#include <string.h>
#include <unistd.h>
static enum MHD_Result h(void* c, struct MHD_Connection* conn, const char* u, const char* m,
                         const char* v, const char* d, size_t* s, void** p) {
    const char* b = "shoal_up 1\n";
    struct MHD_Response* r =
        MHD_create_response_from_buffer(strlen(b), (void*)b, MHD_RESPMEM_PERSISTENT);
    int ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}
int main() {
    struct MHD_Daemon* d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 19471, 0, 0, &h, 0, MHD_OPTION_END);
    if (!d) return 1;
    pause();
}
