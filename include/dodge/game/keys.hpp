// Config keys parsed from scalar text, with one set of rules and messages for every front end:
// the YAML loader and `--set` (run library) and the Python package's keyword arguments (which
// links the game and the renderer only) both go through these. A key's value arrives as the text
// of a YAML scalar ("84", "1e5", "true", "luma") or as null; each key checks its type and range and
// throws KeyError naming the key, the value and what is allowed.
// It sits in the game layer, although it is general parsing, because the lowest front end that
// needs it (the Python package) links only the game and the renderer, and the game's own keys use it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dodge::game {

// A bad key or value; the message names it ("env.level = 3 is not allowed; allowed: ...").
class KeyError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct Range {
  double lo, hi;
  bool lo_open = false, hi_open = false;
  bool contains(double v) const { return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi); }
};
// "[16, 512]", "(0, 180]", ...
std::string range_text(const Range& r, bool integer);
// Shortest text that reads back as v, kept looking like a float ("2.0", not "2").
std::string format_double(double v);

// An integer written as one ("100000") or as an exact float ("1e5", "2.5e5", "100000.0"), as RL
// Zoo's YAML writes them; nullopt for anything else ("1.5", "1e400", "abc").
std::optional<std::int64_t> parse_exact_integer(const std::string& text);
// YAML's booleans as yaml-cpp reads them: true/false, yes/no, on/off, y/n (lower, Capitalised or UPPER).
std::optional<bool> parse_bool(const std::string& text);
// A finite or infinite number written in full ("0.5", "1e-3", ".inf"); nullopt for anything else.
std::optional<double> parse_number(const std::string& text);
// True for YAML's spellings of null: "", "~", "null", "Null", "NULL".
bool is_null_text(const std::string& text);

// Levenshtein-nearest candidate, or "" when nothing is close (for "did you mean ...?").
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

// One key bound to a field of a config struct.
struct Key {
  std::string section, key;
  std::string type;     // "an integer", "a number", "true or false", "a string"
  std::string allowed;  // "an integer in [16, 512]", "luma | contrast"
  std::function<void(const std::optional<std::string>&)> set;  // nullopt: null; throws KeyError
  std::function<std::string()> get;                            // the current value as YAML text
  std::string name() const { return section.empty() ? key : section + "." + key; }
};

// Adds keys of one section, each bound to a field (the fields must outlive the keys).
class KeyBuilder {
 public:
  KeyBuilder(std::vector<Key>& out, std::string section) : out_(out), section_(std::move(section)) {}

  template <typename Int>
  void integer(const std::string& key, Int& ref, Range r) {
    add_integer(
        key, r, [&ref](std::int64_t v) { ref = static_cast<Int>(v); },
        [&ref] { return static_cast<std::int64_t>(ref); });
  }
  void real(const std::string& key, double& ref, Range r);
  // null means "the level's default".
  void optional_real(const std::string& key, std::optional<double>& ref, Range r);
  void boolean(const std::string& key, bool& ref);
  void choice(const std::string& key, std::string& ref, const std::vector<std::string>& choices);
  // A string checked by a predicate (e.g. "auto" or a positive number).
  void text(const std::string& key, std::string& ref, const std::string& allowed,
            std::function<bool(const std::string&)> ok);
  // An enum with to_string(value) names.
  template <typename Enum, typename Name>
  void enumeration(const std::string& key, Enum& ref, const std::vector<Enum>& values, Name to_name) {
    std::vector<std::string> names;
    for (auto v : values) names.emplace_back(to_name(v));
    add_enum(
        key, names, [&ref, values](std::size_t i) { ref = values[i]; },
        [&ref, values, names] {
          for (std::size_t i = 0; i < values.size(); ++i)
            if (values[i] == ref) return names[i];
          return std::string("?");
        });
  }

  const std::string& section() const { return section_; }

 private:
  void add(const std::string& key, const std::string& type, const std::string& allowed,
           std::function<void(const std::optional<std::string>&)> set, std::function<std::string()> get);
  void add_integer(const std::string& key, Range r, std::function<void(std::int64_t)> put,
                   std::function<std::int64_t()> read);
  void add_enum(const std::string& key, const std::vector<std::string>& names,
                std::function<void(std::size_t)> put, std::function<std::string()> read);
  std::string name(const std::string& key) const { return section_.empty() ? key : section_ + "." + key; }
  std::vector<Key>& out_;
  std::string section_;
};

// "NAME = VALUE is not allowed; allowed: ALLOWED"
[[noreturn]] void bad_value(const std::string& name, const std::string& value, const std::string& allowed);

}  // namespace dodge::game
