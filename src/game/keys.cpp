#include "dodge/game/keys.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace dodge::game {

std::string format_double(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string range_text(const Range& r, bool integer) {
  auto num = [&](double v) -> std::string {
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (integer || (v == std::floor(v) && std::abs(v) < 1e15))
      return std::to_string(static_cast<long long>(v));
    std::string s = format_double(v);
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
    return s;
  };
  return std::string(r.lo_open ? "(" : "[") + num(r.lo) + ", " + num(r.hi) + (r.hi_open ? ")" : "]");
}

std::optional<std::int64_t> parse_exact_integer(const std::string& text) {
  std::int64_t v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  if (!text.empty() && text[0] == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec == std::errc() && p == e) return v;
  // 1e6, 2.5e5, 100000.0: a finite number with no fractional part, exactly representable.
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(d) || d != std::floor(d) ||
      std::abs(d) > 9.007199254740992e15)
    return std::nullopt;
  return static_cast<std::int64_t>(d);
}

std::optional<bool> parse_bool(const std::string& text) {
  static const char* const kPairs[][2] = {{"y", "n"}, {"yes", "no"}, {"true", "false"}, {"on", "off"}};
  auto spellings = [](const std::string& w) {
    std::string upper = w, cap = w;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    cap[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(cap[0])));
    return std::vector<std::string>{w, upper, cap};
  };
  for (const auto& pair : kPairs)
    for (int truth = 0; truth < 2; ++truth)
      for (const auto& s : spellings(pair[truth]))
        if (text == s) return truth == 0;
  return std::nullopt;
}

std::optional<double> parse_number(const std::string& text) {
  if (text == ".inf" || text == ".Inf" || text == ".INF" || text == "+.inf")
    return std::numeric_limits<double>::infinity();
  if (text == "-.inf" || text == "-.Inf" || text == "-.INF") return -std::numeric_limits<double>::infinity();
  if (text == ".nan" || text == ".NaN" || text == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

bool is_null_text(const std::string& text) {
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

void bad_value(const std::string& name, const std::string& value, const std::string& allowed) {
  throw KeyError(name + " = " + value + " is not allowed; allowed: " + allowed);
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  auto lev = [](const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0u : 1u)});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string best;
  std::size_t best_d = std::numeric_limits<std::size_t>::max();
  for (const auto& c : candidates) {
    const std::size_t d = lev(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  // Close enough: at most a third of the word's letters changed (and at least 2 allowed).
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  if (best_d <= limit) return best;
  // Or an abbreviation / a longer spelling of a candidate ("enviroment" for "env").
  for (const auto& c : candidates)
    if (c.size() >= 3 && word.size() >= 3 && (word.rfind(c, 0) == 0 || c.rfind(word, 0) == 0)) return c;
  return std::string();
}

void KeyBuilder::add(const std::string& key, const std::string& type, const std::string& allowed,
                     std::function<void(const std::optional<std::string>&)> set,
                     std::function<std::string()> get) {
  out_.push_back(Key{section_, key, type, allowed, std::move(set), std::move(get)});
}

namespace {
// Non-null text or a "must be TYPE, got null" error.
const std::string& need_text(const std::string& name, const std::optional<std::string>& v,
                             const std::string& type) {
  if (!v) throw KeyError(name + " must be " + type + ", got null");
  return *v;
}
}  // namespace

void KeyBuilder::add_integer(const std::string& key, Range r, std::function<void(std::int64_t)> put,
                             std::function<std::int64_t()> read) {
  const std::string n = name(key);
  const std::string allowed = "an integer in " + range_text(r, true);
  add(
      key, "an integer", allowed,
      [n, r, allowed, put](const std::optional<std::string>& v) {
        const std::string& t = need_text(n, v, "an integer");
        // RL Zoo's YAML writes 1e6: exact integers in float notation are integers too.
        const auto parsed = parse_exact_integer(t);
        if (!parsed) throw KeyError(n + " must be an integer (" + allowed + "), got \"" + t + "\"");
        if (!r.contains(static_cast<double>(*parsed))) bad_value(n, t, allowed);
        put(*parsed);
      },
      [read] { return std::to_string(read()); });
}

void KeyBuilder::real(const std::string& key, double& ref, Range r) {
  const std::string n = name(key);
  const std::string allowed = "a number in " + range_text(r, false);
  add(
      key, "a number", allowed,
      [&ref, n, r, allowed](const std::optional<std::string>& v) {
        const std::string& t = need_text(n, v, "a number");
        const auto x = parse_number(t);
        if (!x) throw KeyError(n + " must be a number (" + allowed + "), got \"" + t + "\"");
        if (!std::isfinite(*x) || !r.contains(*x)) bad_value(n, t, allowed);
        ref = *x;
      },
      [&ref] { return format_double(ref); });
}

void KeyBuilder::optional_real(const std::string& key, std::optional<double>& ref, Range r) {
  const std::string n = name(key);
  const std::string allowed = "null (the level's default) or a number in " + range_text(r, false);
  add(
      key, "a number", allowed,
      [&ref, n, r, allowed](const std::optional<std::string>& v) {
        if (!v || is_null_text(*v)) {
          ref.reset();
          return;
        }
        const auto x = parse_number(*v);
        if (!x) throw KeyError(n + " must be a number (" + allowed + "), got \"" + *v + "\"");
        if (!std::isfinite(*x) || !r.contains(*x)) bad_value(n, *v, allowed);
        ref = *x;
      },
      [&ref] { return ref ? format_double(*ref) : std::string("null"); });
}

void KeyBuilder::boolean(const std::string& key, bool& ref) {
  const std::string n = name(key);
  add(
      key, "true or false", "true | false",
      [&ref, n](const std::optional<std::string>& v) {
        const std::string& t = need_text(n, v, "true or false");
        const auto b = parse_bool(t);
        if (!b) throw KeyError(n + " must be true or false (true | false), got \"" + t + "\"");
        ref = *b;
      },
      [&ref] { return std::string(ref ? "true" : "false"); });
}

void KeyBuilder::choice(const std::string& key, std::string& ref, const std::vector<std::string>& choices) {
  std::string allowed;
  for (const auto& c : choices) allowed += (allowed.empty() ? "" : " | ") + c;
  text(key, ref, allowed, [choices](const std::string& v) {
    return std::find(choices.begin(), choices.end(), v) != choices.end();
  });
}

void KeyBuilder::text(const std::string& key, std::string& ref, const std::string& allowed,
                      std::function<bool(const std::string&)> ok) {
  const std::string n = name(key);
  add(
      key, "a string", allowed,
      [&ref, n, allowed, ok](const std::optional<std::string>& v) {
        const std::string& t = need_text(n, v, "a string");
        if (!ok(t)) bad_value(n, t, allowed);
        ref = t;
      },
      [&ref] { return ref; });
}

void KeyBuilder::add_enum(const std::string& key, const std::vector<std::string>& names,
                          std::function<void(std::size_t)> put, std::function<std::string()> read) {
  const std::string n = name(key);
  std::string allowed;
  for (const auto& s : names) allowed += (allowed.empty() ? "" : " | ") + s;
  add(
      key, "a string", allowed,
      [n, names, allowed, put](const std::optional<std::string>& v) {
        const std::string& t = need_text(n, v, "a string");
        for (std::size_t i = 0; i < names.size(); ++i)
          if (t == names[i]) return put(i);
        bad_value(n, t, allowed);
      },
      std::move(read));
}

}  // namespace dodge::game
