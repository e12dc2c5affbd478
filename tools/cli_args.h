// Command-line parsing for the `throughline` CLI: long flags in the forms
// `--name=value` and `--name value`, boolean flags `--name`, positional
// arguments, and `--` ending the flags. `-h` is read as `--help` when the
// specs define a `help` flag. Parsing never prints and never exits: every
// problem comes back as InvalidArgument with a message for the user.

#ifndef THROUGHLINE_TOOLS_CLI_ARGS_H_
#define THROUGHLINE_TOOLS_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace throughline::cli {

// One flag a command accepts. A literal type, so tables of flags can be
// constexpr.
struct FlagSpec {
  absl::string_view name;  // Without the leading "--".
  bool takes_value = true;
  bool repeatable = false;  // May be given more than once.
};

struct ParsedArgs {
  // Values of the flags given, in order; a boolean flag has one empty value.
  std::map<std::string, std::vector<std::string>> flags;
  // The arguments that are not flags or flag values, in order.
  std::vector<std::string> positional;

  bool Has(absl::string_view name) const {
    return flags.count(std::string(name)) > 0;
  }
  // The value of a flag given once (or its last value); nullopt if absent.
  std::optional<std::string> Get(absl::string_view name) const;
  // Every value of a repeatable flag; empty if absent.
  std::vector<std::string> GetAll(absl::string_view name) const;
};

// Parses `args` against `specs`. InvalidArgument for an unknown flag, a
// missing value, a value given to a boolean flag, or a non-repeatable flag
// given twice.
absl::StatusOr<ParsedArgs> ParseArgs(absl::Span<const std::string> args,
                                     absl::Span<const FlagSpec> specs);

// The index in `args` of the first argument that is neither a flag nor the
// separate value of a value-taking flag in `specs` (flags not in `specs` are
// assumed to take no separate value); nullopt when there is none. This is
// how the subcommand is found among leading global flags.
std::optional<size_t> FindFirstPositional(absl::Span<const std::string> args,
                                          absl::Span<const FlagSpec> specs);

// `text` as a non-negative decimal integer; InvalidArgument naming `flag`.
absl::StatusOr<uint64_t> ParseUint64(absl::string_view flag,
                                     absl::string_view text);

// `text` as a positive, finite number of seconds; InvalidArgument naming
// `flag`.
absl::StatusOr<double> ParseSeconds(absl::string_view flag,
                                    absl::string_view text);

}  // namespace throughline::cli

#endif  // THROUGHLINE_TOOLS_CLI_ARGS_H_
