#include "tools/cli_args.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace throughline::cli {
namespace {

const FlagSpec* FindSpec(absl::Span<const FlagSpec> specs,
                         absl::string_view name) {
  for (const FlagSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

bool IsFlag(absl::string_view arg) {
  return arg == "-h" || (absl::StartsWith(arg, "--") && arg.size() > 2);
}

// Splits "--name=value" or "--name" (or "-h") into name and optional value.
void SplitFlag(absl::string_view arg, absl::string_view* name,
               std::optional<std::string>* value) {
  if (arg == "-h") {
    *name = "help";
    value->reset();
    return;
  }
  arg.remove_prefix(2);
  const size_t equals = arg.find('=');
  if (equals == absl::string_view::npos) {
    *name = arg;
    value->reset();
  } else {
    *name = arg.substr(0, equals);
    *value = std::string(arg.substr(equals + 1));
  }
}

}  // namespace

std::optional<std::string> ParsedArgs::Get(absl::string_view name) const {
  auto it = flags.find(std::string(name));
  if (it == flags.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> ParsedArgs::GetAll(absl::string_view name) const {
  auto it = flags.find(std::string(name));
  if (it == flags.end()) return {};
  return it->second;
}

absl::StatusOr<ParsedArgs> ParseArgs(absl::Span<const std::string> args,
                                     absl::Span<const FlagSpec> specs) {
  ParsedArgs parsed;
  bool flags_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_ended || !IsFlag(arg)) {
      if (!flags_ended && arg == "--") {
        flags_ended = true;
      } else {
        parsed.positional.push_back(arg);
      }
      continue;
    }
    absl::string_view name;
    std::optional<std::string> value;
    SplitFlag(arg, &name, &value);
    const FlagSpec* spec = FindSpec(specs, name);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (!spec->takes_value && value.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", name, " takes no value"));
    }
    if (spec->takes_value && !value.has_value()) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value"));
      }
      value = args[++i];
    }
    std::vector<std::string>& values = parsed.flags[std::string(spec->name)];
    if (!values.empty() && !spec->repeatable) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", name, " given more than once"));
    }
    values.push_back(value.value_or(""));
  }
  return parsed;
}

std::optional<size_t> FindFirstPositional(absl::Span<const std::string> args,
                                          absl::Span<const FlagSpec> specs) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!IsFlag(arg)) return i;
    absl::string_view name;
    std::optional<std::string> value;
    SplitFlag(arg, &name, &value);
    const FlagSpec* spec = FindSpec(specs, name);
    if (spec != nullptr && spec->takes_value && !value.has_value()) ++i;
  }
  return std::nullopt;
}

absl::StatusOr<uint64_t> ParseUint64(absl::string_view flag,
                                     absl::string_view text) {
  uint64_t result = 0;
  if (text.empty() || text[0] < '0' || text[0] > '9' ||
      !absl::SimpleAtoi(text, &result)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": \"", text, "\" is not a non-negative integer"));
  }
  return result;
}

absl::StatusOr<double> ParseSeconds(absl::string_view flag,
                                    absl::string_view text) {
  double result = 0;
  if (!absl::SimpleAtod(text, &result) || !std::isfinite(result) ||
      result <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": \"", text, "\" is not a positive number of seconds"));
  }
  return result;
}

}  // namespace throughline::cli
