// The open-addressing index against a std::map doing the same operations: erasing from the
// middle of a run of neighbours must keep every other record findable, and a record that takes
// over a key leaves the one it replaced unindexed.
#include "gossip/membership/pointer_index.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "gossip/wire/node_id.hpp"
#include "gossip/wire/rng.hpp"

namespace shoal {
namespace {

struct Item {
    NodeId id;
    std::uint64_t addr = 0;
};
struct ById {
    static const NodeId& key(const Item& i) { return i.id; }
    static std::uint64_t hash(const NodeId& id) { return mix64(id.prefix64() ^ id.suffix64()); }
};
// Few distinct keys whose hashes share their low bits: long runs that wrap around the table.
struct ByAddr {
    static const std::uint64_t& key(const Item& i) { return i.addr; }
    static std::uint64_t hash(const std::uint64_t& a) { return (a % 7) << 20 | (a & 3); }
};

NodeId random_id(Rng& rng) {
    NodeId id;
    rng.fill(id.bytes);
    return id;
}

TEST(PointerIndex, AgreesWithAMapThroughInsertsAndErases) {
    Rng rng = Rng::from_u64(7);
    PointerIndex<Item, ById> index;
    std::map<NodeId, std::unique_ptr<Item>> model;
    std::vector<NodeId> ever;
    for (int step = 0; step < 20000; ++step) {
        // Grows to about 600 items, then churns: runs form, wrap around and are split by erases.
        bool erase = !model.empty() && rng.below(100) < (model.size() > 600 ? 60 : 35);
        if (erase) {
            auto it = model.begin();
            std::advance(it, static_cast<long>(rng.below(model.size())));
            index.erase(it->second.get());
            model.erase(it);
        } else {
            NodeId id = random_id(rng);
            auto item = std::make_unique<Item>(Item{id});
            index.assign(item.get());
            model.emplace(id, std::move(item));
            ever.push_back(id);
        }
        if (step % 97 == 0) {
            ASSERT_EQ(index.size(), model.size());
            for (const auto& id : ever) {
                auto it = model.find(id);
                ASSERT_EQ(index.find(id), it == model.end() ? nullptr : it->second.get())
                    << "step " << step;
            }
        }
    }
}

TEST(PointerIndex, ATakeoverReplacesTheHolderOfTheKey) {
    Rng rng = Rng::from_u64(11);
    PointerIndex<Item, ByAddr> index;
    std::vector<std::unique_ptr<Item>> items;
    std::map<std::uint64_t, Item*> model;  // key -> the latest item assigned to it
    for (int step = 0; step < 5000; ++step) {
        std::uint64_t key = rng.below(40);
        if (rng.below(3) == 0 && model.count(key)) {
            // Erasing a record that no longer holds its key changes nothing.
            Item* holder = model[key];
            for (auto& it : items)
                if (it->addr == key && it.get() != holder) index.erase(it.get());
            index.erase(holder);
            model.erase(key);
        } else {
            items.push_back(std::make_unique<Item>(Item{NodeId{}, key}));
            index.assign(items.back().get());
            model[key] = items.back().get();
        }
        ASSERT_EQ(index.size(), model.size());
        for (std::uint64_t k = 0; k < 40; ++k) {
            auto it = model.find(k);
            ASSERT_EQ(index.find(k), it == model.end() ? nullptr : it->second) << "step " << step;
        }
    }
}

}  // namespace
}  // namespace shoal
