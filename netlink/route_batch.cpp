#include "netlink/route_batch.hpp"

#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>

namespace shoal::netlink {

void RouteBatch::add(RoutePtr route, bool remove, int flags) {
    ops_.push_back(Op{std::move(route), remove, flags});
}

void RouteBatch::run(nl_sock* sk, const std::function<void(std::size_t i, int err)>& done) {
    constexpr std::size_t kWindow = 32;
    for (std::size_t start = 0; start < ops_.size(); start += kWindow) {
        // The whole window goes out in one sendmsg: the kernel handles each message of a
        // datagram in turn and acks each one.
        std::map<std::uint32_t, std::size_t> pending;  // sequence number -> op
        std::vector<unsigned char> out;
        for (std::size_t i = start; i < std::min(ops_.size(), start + kWindow); ++i) {
            Op& op = ops_[i];
            nl_msg* msg = nullptr;
            int err = op.remove ? rtnl_route_build_del_request(op.route.get(), 0, &msg)
                                : rtnl_route_build_add_request(op.route.get(), op.flags, &msg);
            if (err < 0) {
                done(i, err);
                continue;
            }
            nl_complete_msg(sk, msg);  // sequence number, NLM_F_REQUEST | NLM_F_ACK
            const nlmsghdr* h = nlmsg_hdr(msg);
            const auto* bytes = reinterpret_cast<const unsigned char*>(h);
            out.insert(out.end(), bytes, bytes + h->nlmsg_len);
            out.resize(NLMSG_ALIGN(out.size()));
            pending[h->nlmsg_seq] = i;
            nlmsg_free(msg);
        }
        if (!out.empty()) {
            if (int err = nl_sendto(sk, out.data(), out.size()); err < 0) {
                for (auto& [seq, i] : pending) done(i, err);
                pending.clear();
            }
        }
        while (!pending.empty()) {
            unsigned char* buf = nullptr;
            sockaddr_nl peer{};
            int n = nl_recv(sk, &peer, &buf, nullptr);
            if (n <= 0) {
                for (auto& [seq, i] : pending) done(i, n < 0 ? n : -NLE_FAILURE);
                pending.clear();
                break;
            }
            int len = n;
            for (auto* h = reinterpret_cast<nlmsghdr*>(buf); nlmsg_ok(h, len);
                 h = nlmsg_next(h, &len)) {
                if (h->nlmsg_type != NLMSG_ERROR) continue;
                auto it = pending.find(h->nlmsg_seq);
                if (it == pending.end()) continue;
                int err = static_cast<nlmsgerr*>(nlmsg_data(h))->error;  // 0 is an ack
                done(it->second, err == 0 ? 0 : -nl_syserr2nlerr(-err));
                pending.erase(it);
            }
            std::free(buf);
        }
    }
    ops_.clear();
}

}  // namespace shoal::netlink
