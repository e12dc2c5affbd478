// Structured logs: one logfmt line per event on stderr, e.g.
//
//   ts=2026-11-25T10:00:00.123456Z level=info event=serving msg="..."
//   port=50051
//
// Every line has ts (UTC, RFC 3339), level (info, warn or error) and event (a
// fixed name, listed in docs/operations.md#logs); msg is for people; the
// other keys depend on the event. Values with spaces, quotes, '=' or control
// characters are double-quoted with Go-style escapes. Lines are written
// whole, so concurrent events do not interleave.

#ifndef THROUGHLINE_SERVICES_LOG_H_
#define THROUGHLINE_SERVICES_LOG_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace throughline::services {

enum class LogLevel { kInfo, kWarn, kError };

using LogFields = std::vector<std::pair<std::string, std::string>>;

// The line for one event, without the trailing newline (for tests).
std::string FormatLogLine(LogLevel level, absl::string_view event,
                          const LogFields& fields);

// Writes FormatLogLine(...) and a newline to stderr.
void Log(LogLevel level, absl::string_view event, const LogFields& fields);

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_LOG_H_
