#pragma once
// A control reply is built once, as records of fields, and rendered as JSON (what scripts read)
// or as text (what people read): the two forms cannot drift apart. Each field has a JSON key and
// value and, unless hidden, a text label and value.
//
//   Record r;
//   r.str("name", "h1").num("uptime_seconds", 12).label("uptime").text("12 s");
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shoal::agent {

class Record {
  public:
    struct Field {
        std::string key;
        std::string json;     // the value, JSON-encoded
        std::string label;    // the text form's name for it (the key, unless set)
        std::string text;     // the text form's value
        bool shown = true;    // part of the text form
        bool in_json = true;  // part of the JSON form
    };

    Record& str(std::string key, std::string_view value);
    // null in JSON and `if_null` in text when absent.
    Record& opt(std::string key, const std::optional<std::string>& value,
                std::string_view if_null = "-");
    Record& num(std::string key, std::int64_t value);
    Record& boolean(std::string key, bool value);
    // A nested JSON object; its text form is `text`.
    Record& object(std::string key, const Record& value, std::string text);
    Record& strings(std::string key, const std::vector<std::string>& values, std::string text);
    // A JSON array of objects; its text form is `text`.
    Record& records(std::string key, const std::vector<Record>& rows, std::string text);
    // A line of the text form only.
    Record& note(std::string label, std::string text);
    // Adjust the last field added.
    Record& label(std::string l);
    Record& text(std::string t);
    Record& hidden();

    const std::vector<Field>& fields() const { return fields_; }

  private:
    Record& add(std::string key, std::string json, std::string text);
    std::vector<Field> fields_;
};

std::string render_json(const Record& r);
std::string render_json(const std::vector<Record>& rows);
// One "label value" line per shown field.
std::string render_lines(const Record& r);
// One line per record: its shown fields' texts in columns of at least these widths (columns
// past the widths given are not padded; trailing blanks are cut), made printable.
std::string render_table(const std::vector<Record>& rows, const std::vector<int>& widths);

}  // namespace shoal::agent
