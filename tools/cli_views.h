// The views of the `throughline` CLI (`needs`, `follow-through`, `staff`,
// `dots`, `money`, `impact`, `decisions`, `programmes`, `views status`):
// reading the query flags into an insights.v1.ViewQuery, and printing a
// view as aligned text tables, as CSV or as JSON.
//
// Text and CSV come from one path: each view is turned into a Report (a
// title, lines stating its basis and headline figures, then titled tables),
// and a Report renders either as text (everything) or as CSV (its first,
// main table only: one header row and one row per main row of the view, no
// totals row, so that a spreadsheet can add it up itself). JSON is the whole
// view message in protobuf's JSON mapping (cli_json.h).
//
// Figures are printed as the view gives them: integers as they are, a Ratio
// as "n/d (p%)" where p is for display only (rounded half up; "–" when d is
// 0), money in pounds from integer pence, times as YYYY-MM-DD in UTC.

#ifndef THROUGHLINE_TOOLS_CLI_VIEWS_H_
#define THROUGHLINE_TOOLS_CLI_VIEWS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "throughline/insights/v1/insights.pb.h"
#include "tools/cli_args.h"

namespace throughline::cli {

namespace insights = ::throughline::insights::v1;

// ---------------------------------------------------------------------------
// Query flags.

// The flags every scoped view takes.
inline constexpr FlagSpec kViewQueryFlags[] = {
    {"school"},         {"department"}, {"from"},         {"to"},
    {"as-of-position"}, {"as-of-time"}, {"min-position"}, {"format"},
};
// `decisions`: the above and --replay.
inline constexpr FlagSpec kDecisionsFlags[] = {
    {"school"},       {"department"},     {"from"},
    {"to"},           {"as-of-position"}, {"as-of-time"},
    {"min-position"}, {"format"},         {"replay", false},
};
// `needs`: the above and --watch.
inline constexpr FlagSpec kNeedsFlags[] = {
    {"school"},       {"department"},     {"from"},
    {"to"},           {"as-of-position"}, {"as-of-time"},
    {"min-position"}, {"format"},         {"watch", false},
};
// `staff`: no scope or window (the record covers the whole person).
inline constexpr FlagSpec kStaffFlags[] = {
    {"as-of-position"}, {"as-of-time"}, {"min-position"}, {"format"}};
// `views status|rebuild`.
inline constexpr FlagSpec kFormatFlags[] = {{"format"}};

enum class OutputFormat { kTable, kJson, kCsv };

// "table", "json" or "csv"; InvalidArgument naming --format otherwise.
absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view text);

// --format's value, kTable when absent.
absl::StatusOr<OutputFormat> OutputFormatFlag(const ParsedArgs& args);

// `text` as an RFC 3339 time (2025-09-01T08:30:00Z, any offset) or a date
// YYYY-MM-DD (its midnight, UTC). InvalidArgument naming `flag`.
absl::StatusOr<absl::Time> ParseTimeOrDate(absl::string_view flag,
                                           absl::string_view text);

// Sets the fields of `query` given by the query flags present in `args`
// (--school, --department, --from, --to, --as-of-position, --as-of-time,
// --min-position); flags absent leave the server's defaults.
// InvalidArgument naming the flag for a malformed value, both --school and
// --department, an empty id, or --from not before --to.
absl::Status BuildViewQuery(const ParsedArgs& args, insights::ViewQuery* query);

// ---------------------------------------------------------------------------
// Tables.

enum class Align { kLeft, kRight };

struct Column {
  std::string header;
  // Numbers are right-aligned.
  Align align = Align::kLeft;
};

// Rows of text cells under named columns, rendered as aligned text or CSV.
class Table {
 public:
  Table() = default;
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // Adds a row. Missing cells are empty; cells beyond the columns are
  // dropped.
  void AddRow(std::vector<std::string> cells);
  // The totals row, shown in text only, under a rule. Empty cells mean no
  // total for that column.
  void SetTotals(std::vector<std::string> cells);

  const std::vector<Column>& columns() const { return columns_; }
  const std::vector<std::vector<std::string>>& rows() const { return rows_; }
  bool has_totals() const { return has_totals_; }

  // The header, a rule, the rows, and (if set) a rule and the totals row.
  // Columns are padded to their widest cell (in characters, counting UTF-8
  // code points) and separated by two spaces; numbers are right-aligned;
  // lines end without trailing spaces. Control characters in cells (line
  // breaks, tabs, escapes) print as spaces. With no rows, "(none)" follows
  // the header. Every line ends with "\n".
  std::string RenderText() const;

  // RFC 4180: the header row, then one row per row (no totals), fields
  // separated by commas, quoted when they contain a comma, a double quote,
  // CR or LF (quotes doubled), lines ending in "\n". A left-aligned (text)
  // cell starting with '=', '+', '-', '@', tab or CR gets a leading "'" so
  // that a spreadsheet shows it rather than evaluating it as a formula.
  std::string RenderCsv() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::string> totals_;
  bool has_totals_ = false;
};

// `field` as one RFC 4180 field (quoted when needed).
std::string CsvField(absl::string_view field);

// The number of characters (UTF-8 code points) of `text`.
size_t DisplayWidth(absl::string_view text);

// ---------------------------------------------------------------------------
// Cells.

// "n/d (p%)" with p = 100n/d rounded half up, or "–" when d is 0.
std::string FormatRatio(int64_t numerator, int64_t denominator);
std::string FormatRatio(const insights::Ratio& ratio);
// "p%" as above, or "–" when d is 0.
std::string FormatPercent(int64_t numerator, int64_t denominator);
// A mean as "m (n/d)" with m = n/d to two decimals rounded half up, or "–"
// when d is 0; for sums of ratings over counts (the impact view).
std::string FormatMean(const insights::Ratio& ratio);
// Pence as pounds with two decimals: 123456 -> "1234.56".
std::string FormatPounds(int64_t pence);
// "+3", "-1", "0".
std::string FormatSigned(int64_t value);
// YYYY-MM-DD in UTC; "" when unset (the zero Timestamp, which no CPD record
// has).
std::string FormatDate(const google::protobuf::Timestamp& timestamp);
// YYYY-MM-DD at midnight UTC, else RFC 3339 in UTC (fractional seconds when
// present); "" when unset.
std::string FormatInstant(const google::protobuf::Timestamp& timestamp);
// "trust", "school <id>" or "department <id>".
std::string FormatScope(const insights::ViewScope& scope);
// "Basis: <scope>; window <from> to <to> (exclusive); as of log position P,
// <as-of time>".
std::string FormatBasis(const insights::ViewBasis& basis);

// ---------------------------------------------------------------------------
// Reports.

struct Section {
  std::string title;               // Printed above the table when not empty.
  std::vector<std::string> intro;  // Printed between the title and table.
  Table table;
  std::vector<std::string> notes;  // Printed under the table.
};

struct Report {
  std::string title;
  // The basis and headline figures, under the title.
  std::vector<std::string> lines;
  std::vector<Section> sections;
  // The index in `sections` of the main table: the one CSV prints.
  size_t main_section = 0;
};

// A Report as text (kTable: the title, lines and every section, separated by
// blank lines) or CSV (kCsv: the main section's table only).
std::string RenderReport(const Report& report, OutputFormat format);

Report EmergentNeedsReport(const insights::EmergentNeedsView& view);
Report FollowThroughReport(const insights::FollowThroughView& view);
Report StaffRecordReport(const insights::StaffRecordView& view);
Report ConnectingTheDotsReport(const insights::ConnectingTheDotsView& view);
Report TimeAndMoneyReport(const insights::TimeAndMoneyView& view);
Report ImpactReport(const insights::ImpactView& view);
Report DecisionAuditReport(const insights::DecisionAuditView& view);
Report ProgrammeDesignReport(const insights::ProgrammeDesignView& view);
Report ProjectionStatusReport(const insights::ProjectionStatus& status);

// Decision replay (`decisions --replay`): each decision, and for each piece
// of evidence that was replayed, the cited view as of its position ("then")
// beside the same view as of the audit ("now"), figure by figure.

// One figure of a view: a path naming it and its value as printed.
struct Figure {
  // Field names joined by '.'; an element of a list is named by its first
  // non-empty text field (its id or area code), else its index:
  // "rows[questioning].staff_flagged", "total.counts.overdue".
  std::string path;
  // Integers as they are; "n/d" for a Ratio; pounds for a *_pence field;
  // YYYY-MM-DD (or RFC 3339) for a time; yes/no; enum value names; a list
  // of texts joined by ", ".
  std::string value;
};
// Every figure of `view` but its basis, in field order, fields at their
// default values included.
std::vector<Figure> ViewFigures(const google::protobuf::Message& view);

// One line of a replay: a figure then and now. `change` is now - then
// (signed) for integers, "changed" for another value that differs, "new" or
// "gone" for a figure on one side only, and "" when equal.
struct FigureChange {
  std::string path, then, now, change;
};
// `then` and `now` side by side, in `then`'s order followed by figures only
// `now` has. Figures that are 0, empty or "no" on both sides are left out.
std::vector<FigureChange> CompareFigures(const std::vector<Figure>& then,
                                         const std::vector<Figure>& now);

// The replay as text: per decision its record, then per replayed evidence
// its then and now bases and the figures side by side.
Report DecisionReplayReport(const insights::DecisionAuditView& view);
// The replay in `format`: the report above as text; CSV as one table of
// every compared figure (decision id, evidence index, view, figure, then,
// now, change); JSON the whole DecisionAuditView (which holds both views).
absl::StatusOr<std::string> FormatDecisionReplay(
    const insights::DecisionAuditView& view, OutputFormat format);

// `view` (any of the views above, or a ProjectionStatus) in `format`, ready
// to print: JSON is one line. InvalidArgument for another message type;
// Internal if JSON rendering fails.
absl::StatusOr<std::string> FormatView(const google::protobuf::Message& view,
                                       OutputFormat format);

}  // namespace throughline::cli

#endif  // THROUGHLINE_TOOLS_CLI_VIEWS_H_
