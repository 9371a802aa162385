#include "agent/reply.hpp"

#include <cstdio>

#include "agent/json.hpp"

namespace shoal::agent {

Record& Record::add(std::string key, std::string json, std::string text) {
    std::string label = key;
    fields_.push_back(Field{std::move(key), std::move(json), std::move(label), std::move(text)});
    return *this;
}

Record& Record::str(std::string key, std::string_view value) {
    return add(std::move(key), json_string(value), std::string(value));
}

Record& Record::opt(std::string key, const std::optional<std::string>& value,
                    std::string_view if_null) {
    if (!value) return add(std::move(key), "null", std::string(if_null));
    return str(std::move(key), *value);
}

Record& Record::num(std::string key, std::int64_t value) {
    return add(std::move(key), std::to_string(value), std::to_string(value));
}

Record& Record::boolean(std::string key, bool value) {
    return add(std::move(key), value ? "true" : "false", value ? "yes" : "no");
}

Record& Record::object(std::string key, const Record& value, std::string text) {
    return add(std::move(key), render_json(value), std::move(text));
}

Record& Record::strings(std::string key, const std::vector<std::string>& values, std::string text) {
    std::string json = "[";
    for (const auto& v : values) {
        if (json.size() > 1) json += ',';
        json += json_string(v);
    }
    return add(std::move(key), json + "]", std::move(text));
}

Record& Record::records(std::string key, const std::vector<Record>& rows, std::string text) {
    return add(std::move(key), render_json(rows), std::move(text));
}

Record& Record::note(std::string label, std::string text) {
    add({}, {}, std::move(text));
    fields_.back().label = std::move(label);
    fields_.back().in_json = false;
    return *this;
}

Record& Record::label(std::string l) {
    fields_.back().label = std::move(l);
    return *this;
}

Record& Record::text(std::string t) {
    fields_.back().text = std::move(t);
    return *this;
}

Record& Record::hidden() {
    fields_.back().shown = false;
    return *this;
}

std::string render_json(const Record& r) {
    // Appended piece by piece: g++ 12 at -O3 warns falsely (-Wrestrict) on "," + std::string&&.
    std::string out = "{";
    for (const auto& f : r.fields()) {
        if (!f.in_json) continue;
        if (out.size() > 1) out += ',';
        out.append(json_string(f.key)).append(":").append(f.json);
    }
    return out + "}";
}

std::string render_json(const std::vector<Record>& rows) {
    std::string out = "[";
    for (const auto& r : rows) {
        if (out.size() > 1) out += ',';
        out += render_json(r);
    }
    return out + "]";
}

namespace {
// Names and reasons come from the network: nothing in them may move the terminal's cursor.
std::string printable(std::string_view s) {
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\x%02x", c);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out;
}
}  // namespace

std::string render_lines(const Record& r) {
    std::string out;
    for (const auto& f : r.fields())
        if (f.shown) out += printable(f.label) + " " + printable(f.text) + "\n";
    return out;
}

std::string render_table(const std::vector<Record>& rows, const std::vector<int>& widths) {
    std::string out;
    for (const auto& r : rows) {
        std::string line;
        std::size_t col = 0;
        for (const auto& f : r.fields()) {
            if (!f.shown) continue;
            if (col) line += ' ';
            std::string cell = printable(f.text);
            line += cell;
            if (col < widths.size())
                line.append(std::max<std::size_t>(widths[col], cell.size()) - cell.size(), ' ');
            ++col;
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    return out;
}

}  // namespace shoal::agent
