#include "gossip/wire/keyring.hpp"

#include <sodium.h>

namespace shoal {

std::string Keyring::encode_key(const ClusterKey& key) {
    std::string out(sodium_base64_ENCODED_LEN(key.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), key.data(), key.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);  // drop the terminating NUL
    return out;
}

std::optional<ClusterKey> Keyring::decode_key(std::string_view text) {
    ClusterKey key{};
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(key.data(), key.size(), text.data(), text.size(), nullptr, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != key.size() || end != text.data() + text.size())
        return std::nullopt;
    return key;
}

Result<Keyring> Keyring::parse(std::string_view text, std::vector<int>* lines) {
    std::vector<ClusterKey> keys;
    if (lines) lines->clear();
    int line_no = 0;
    while (!text.empty()) {
        ++line_no;
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
            line.remove_prefix(1);
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
            line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        auto key = decode_key(line);
        if (!key) {
            return Error{"line " + std::to_string(line_no) +
                         ": not a cluster key (expected 44 characters of base64 encoding 32 "
                         "bytes, as `shoal keygen` prints)"};
        }
        keys.push_back(*key);
        if (lines) lines->push_back(line_no);
    }
    if (keys.empty()) {
        return Error{"no key found (one base64 key per line; `shoal keygen` makes one)"};
    }
    return Keyring(std::move(keys));
}

std::string Keyring::fingerprint(const ClusterKey& key) {
    std::array<std::uint8_t, 8> h{};
    crypto_generichash(h.data(), h.size(), key.data(), key.size(), nullptr, 0);
    std::string out(h.size() * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), h.data(), h.size());
    out.pop_back();
    return out;
}

}  // namespace shoal
