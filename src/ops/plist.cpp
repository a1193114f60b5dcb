#include "ops/plist.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "util/fs.hpp"

namespace sanctum::ops {

namespace {

constexpr std::string_view kBinaryMagic = "bplist00";

// Carries the source text and file name so every error can name its line.
struct ParseContext {
  std::string_view text;
  const std::string& file;

  int line_of(const pugi::xml_node& node) const { return line_of_offset(text, node.offset_debug()); }

  Error error_at(const pugi::xml_node& node, const std::string& message) const {
    return make_error(fmt::format("{}:{}: {}", file, line_of(node), message));
  }
};

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// Returns the element children of a container, or an error when it contains
// text other than whitespace between them.
Result<std::vector<pugi::xml_node>> element_children(const pugi::xml_node& node,
                                                     const ParseContext& context) {
  std::vector<pugi::xml_node> children;
  for (pugi::xml_node child : node.children()) {
    if (child.type() == pugi::node_element) {
      children.push_back(child);
    } else if ((child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) &&
               !is_blank(child.value())) {
      return context.error_at(child, fmt::format("unexpected text \"{}\" inside <{}>",
                                                 child.value(), node.name()));
    }
  }
  return children;
}

Result<std::int64_t> parse_integer_text(std::string_view text) {
  while (!text.empty() && is_blank(text.substr(0, 1))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_blank(text.substr(text.size() - 1))) {
    text.remove_suffix(1);
  }

  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }

  std::uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return make_error("not an integer");
  }

  if (negative) {
    if (magnitude > static_cast<std::uint64_t>(INT64_MAX) + 1) {
      return make_error("integer out of range");
    }
    return static_cast<std::int64_t>(0 - magnitude);
  }
  if (magnitude > static_cast<std::uint64_t>(INT64_MAX)) {
    return make_error("integer out of range");
  }
  return static_cast<std::int64_t>(magnitude);
}

Result<double> parse_real_text(const std::string& text) {
  if (is_blank(text)) {
    return make_error("not a real number");
  }
  errno = 0;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (!is_blank(std::string_view(end)) || errno == ERANGE) {
    return make_error("not a real number");
  }
  return value;
}

bool is_base64(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/' || c == '=';
  });
}

Result<PlistValue> parse_value(const pugi::xml_node& node, const ParseContext& context);

Result<PlistValue> parse_dict(const pugi::xml_node& node, const ParseContext& context) {
  auto children = element_children(node, context);
  if (!children) {
    return children.error();
  }
  PlistValue dict = PlistValue::make_dict();
  for (std::size_t i = 0; i < children->size(); i += 2) {
    const pugi::xml_node& key = (*children)[i];
    if (std::string_view(key.name()) != "key") {
      return context.error_at(key, fmt::format("expected <key> inside <dict>, found <{}>",
                                               key.name()));
    }
    if (i + 1 >= children->size()) {
      return context.error_at(key, fmt::format("<key>{}</key> has no value", key.text().get()));
    }
    std::string name = key.text().get();
    if (dict.find(name) != nullptr) {
      return context.error_at(key, fmt::format("key \"{}\" appears twice in one <dict>", name));
    }
    auto value = parse_value((*children)[i + 1], context);
    if (!value) {
      return value;
    }
    dict.dict.push_back(PlistEntry{std::move(name), std::move(*value)});
  }
  return dict;
}

Result<PlistValue> parse_array(const pugi::xml_node& node, const ParseContext& context) {
  auto children = element_children(node, context);
  if (!children) {
    return children.error();
  }
  std::vector<PlistValue> items;
  for (const pugi::xml_node& child : *children) {
    auto item = parse_value(child, context);
    if (!item) {
      return item;
    }
    items.push_back(std::move(*item));
  }
  return PlistValue::make_array(std::move(items));
}

Result<PlistValue> parse_scalar(const pugi::xml_node& node, std::string_view name,
                                const ParseContext& context) {
  std::string text = node.text().get();
  PlistValue value;
  if (name == "string") {
    value.type = PlistValue::Type::string;
    value.text = std::move(text);
  } else if (name == "integer") {
    auto parsed = parse_integer_text(text);
    if (!parsed) {
      return context.error_at(node, fmt::format("<integer>{}</integer>: {}", text,
                                                parsed.error().message));
    }
    value.type = PlistValue::Type::integer;
    value.integer = *parsed;
  } else if (name == "real") {
    auto parsed = parse_real_text(text);
    if (!parsed) {
      return context.error_at(node, fmt::format("<real>{}</real>: {}", text,
                                                parsed.error().message));
    }
    value.type = PlistValue::Type::real;
    value.real = *parsed;
  } else if (name == "true" || name == "false") {
    value.type = PlistValue::Type::boolean;
    value.boolean = name == "true";
  } else if (name == "date") {
    value.type = PlistValue::Type::date;
    value.text = std::move(text);
  } else if (name == "data") {
    std::erase_if(text, [](char c) { return is_blank(std::string_view(&c, 1)); });
    if (!is_base64(text)) {
      return context.error_at(node, "<data> is not base64");
    }
    value.type = PlistValue::Type::data;
    value.text = std::move(text);
  } else {
    return context.error_at(node, fmt::format("unknown plist element <{}>", name));
  }
  return value;
}

Result<PlistValue> parse_value(const pugi::xml_node& node, const ParseContext& context) {
  std::string_view name = node.name();
  Result<PlistValue> value = name == "dict"    ? parse_dict(node, context)
                             : name == "array" ? parse_array(node, context)
                                               : parse_scalar(node, name, context);
  if (value) {
    value->line = context.line_of(node);
  }
  return value;
}

void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
}

// Formats a real so that reading it back gives the same double.
std::string format_real(double value) {
  if (std::isnan(value)) {
    return "nan";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+infinity" : "-infinity";
  }
  return fmt::format("{}", value);
}

void write_value(std::string& out, const PlistValue& value, int depth) {
  std::string indent(static_cast<std::size_t>(depth), '\t');
  out += indent;
  switch (value.type) {
    case PlistValue::Type::string:
      out += "<string>";
      append_escaped(out, value.text);
      out += "</string>\n";
      break;
    case PlistValue::Type::integer:
      out += fmt::format("<integer>{}</integer>\n", value.integer);
      break;
    case PlistValue::Type::real:
      out += fmt::format("<real>{}</real>\n", format_real(value.real));
      break;
    case PlistValue::Type::boolean:
      out += value.boolean ? "<true/>\n" : "<false/>\n";
      break;
    case PlistValue::Type::date:
      out += fmt::format("<date>{}</date>\n", value.text);
      break;
    case PlistValue::Type::data:
      out += fmt::format("<data>{}</data>\n", value.text);
      break;
    case PlistValue::Type::array:
      if (value.array.empty()) {
        out += "<array/>\n";
        break;
      }
      out += "<array>\n";
      for (const PlistValue& item : value.array) {
        write_value(out, item, depth + 1);
      }
      out += indent + "</array>\n";
      break;
    case PlistValue::Type::dict: {
      if (value.dict.empty()) {
        out += "<dict/>\n";
        break;
      }
      std::vector<const PlistEntry*> entries;
      for (const PlistEntry& entry : value.dict) {
        entries.push_back(&entry);
      }
      std::sort(entries.begin(), entries.end(),
                [](const PlistEntry* a, const PlistEntry* b) { return a->key < b->key; });
      out += "<dict>\n";
      for (const PlistEntry* entry : entries) {
        out += indent + "\t<key>";
        append_escaped(out, entry->key);
        out += "</key>\n";
        write_value(out, entry->value, depth + 1);
      }
      out += indent + "</dict>\n";
      break;
    }
  }
}

}  // namespace

PlistValue PlistValue::make_string(std::string text) {
  PlistValue value;
  value.type = Type::string;
  value.text = std::move(text);
  return value;
}

PlistValue PlistValue::make_integer(std::int64_t number) {
  PlistValue value;
  value.type = Type::integer;
  value.integer = number;
  return value;
}

PlistValue PlistValue::make_boolean(bool flag) {
  PlistValue value;
  value.type = Type::boolean;
  value.boolean = flag;
  return value;
}

PlistValue PlistValue::make_array(std::vector<PlistValue> items) {
  PlistValue value;
  value.type = Type::array;
  value.array = std::move(items);
  return value;
}

PlistValue PlistValue::make_dict() {
  PlistValue value;
  value.type = Type::dict;
  return value;
}

PlistValue& PlistValue::set(const std::string& key, PlistValue value) {
  for (PlistEntry& entry : dict) {
    if (entry.key == key) {
      entry.value = std::move(value);
      return entry.value;
    }
  }
  dict.push_back(PlistEntry{key, std::move(value)});
  return dict.back().value;
}

const PlistValue* PlistValue::find(std::string_view key) const {
  if (type != Type::dict) {
    return nullptr;
  }
  for (const PlistEntry& entry : dict) {
    if (entry.key == key) {
      return &entry.value;
    }
  }
  return nullptr;
}

std::string_view type_name(PlistValue::Type type) {
  switch (type) {
    case PlistValue::Type::string:
      return "string";
    case PlistValue::Type::integer:
      return "integer";
    case PlistValue::Type::real:
      return "real";
    case PlistValue::Type::boolean:
      return "boolean";
    case PlistValue::Type::date:
      return "date";
    case PlistValue::Type::data:
      return "data";
    case PlistValue::Type::array:
      return "array";
    case PlistValue::Type::dict:
      return "dict";
  }
  return "unknown";
}

int line_of_offset(std::string_view text, std::ptrdiff_t offset) {
  if (offset < 0) {
    return 0;
  }
  auto end = text.begin() + std::min<std::ptrdiff_t>(offset, static_cast<std::ptrdiff_t>(text.size()));
  return 1 + static_cast<int>(std::count(text.begin(), end, '\n'));
}

Result<PlistValue> parse_plist(std::string_view text, const std::string& file) {
  if (text.substr(0, kBinaryMagic.size()) == kBinaryMagic) {
    return make_error(fmt::format(
        "{}: binary property list, which sanctum does not read; convert it with "
        "`plutil -convert xml1 {}` (this rewrites the file in place) and run again",
        file, file));
  }
  pugi::xml_document document;
  pugi::xml_parse_result parsed =
      document.load_buffer(text.data(), text.size(), pugi::parse_default | pugi::parse_ws_pcdata_single);
  if (!parsed) {
    return make_error(fmt::format("{}:{}: malformed XML: {}", file,
                                  line_of_offset(text, parsed.offset), parsed.description()));
  }
  ParseContext context{text, file};
  pugi::xml_node root = document.document_element();
  if (std::string_view(root.name()) != "plist") {
    return context.error_at(root, fmt::format("root element is <{}>, expected <plist>", root.name()));
  }
  auto children = element_children(root, context);
  if (!children) {
    return children.error();
  }
  if (children->size() != 1) {
    return context.error_at(root, fmt::format("<plist> holds {} values, expected exactly one",
                                              children->size()));
  }
  return parse_value(children->front(), context);
}

Result<PlistValue> read_plist_file(const std::filesystem::path& path) {
  auto text = util::read_file(path);
  if (!text) {
    return text.error();
  }
  return parse_plist(*text, path.string());
}

std::string write_plist(const PlistValue& value) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
      "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
      "<plist version=\"1.0\">\n";
  write_value(out, value, 0);
  out += "</plist>\n";
  return out;
}

}  // namespace sanctum::ops
