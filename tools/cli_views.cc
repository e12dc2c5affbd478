#include "tools/cli_views.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/numeric/int128.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "tools/cli_json.h"

namespace throughline::cli {
namespace {

namespace cpd = ::throughline::cpd::v1;

// Shown for a share with no data (denominator 0).
constexpr char kNoData[] = "\u2013";  // "–"

// The range of google.protobuf.Timestamp: 0001-01-01 to 9999-12-31.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

std::string Count(int64_t value) { return absl::StrCat(value); }

// `numerator / denominator` rounded half up (towards +infinity on ties),
// for any signs; `denominator` must not be 0.
absl::int128 DivideRoundingHalfUp(absl::int128 numerator,
                                  absl::int128 denominator) {
  if (denominator < 0) {
    numerator = -numerator;
    denominator = -denominator;
  }
  // floor((2n + d) / 2d).
  const absl::int128 top = 2 * numerator + denominator;
  const absl::int128 bottom = 2 * denominator;
  absl::int128 quotient = top / bottom;
  if (top % bottom != 0 && top < 0) --quotient;
  return quotient;
}

// `value` hundredths as "x.yy".
std::string Hundredths(absl::int128 value) {
  const bool negative = value < 0;
  const absl::uint128 magnitude =
      negative ? absl::uint128(-(value + 1)) + 1 : absl::uint128(value);
  return absl::StrFormat("%s%d.%02d", negative ? "-" : "",
                         absl::Uint128Low64(magnitude / 100),
                         absl::Uint128Low64(magnitude % 100));
}

absl::Time ToTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

bool IsSet(const google::protobuf::Timestamp& timestamp) {
  return timestamp.seconds() != 0 || timestamp.nanos() != 0;
}

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* timestamp) {
  // Whole seconds rounded down, so that nanos is in [0, 1e9).
  const int64_t seconds = absl::ToUnixSeconds(time);
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

// "STAFF_ROLE_EARLY_CAREER_TEACHER" -> "early career teacher".
std::string EnumLabel(const std::string& name, absl::string_view prefix) {
  absl::string_view rest = name;
  if (!absl::ConsumePrefix(&rest, prefix)) return name;
  std::string label = absl::AsciiStrToLower(rest);
  std::replace(label.begin(), label.end(), '_', ' ');
  return label;
}

std::string RoleLabel(cpd::StaffRole role) {
  if (role == cpd::STAFF_ROLE_UNSPECIFIED) return "";
  return EnumLabel(cpd::StaffRole_Name(role), "STAFF_ROLE_");
}

std::string KindLabel(cpd::ProgrammeKind kind) {
  if (kind == cpd::PROGRAMME_KIND_UNSPECIFIED) return "";
  return EnumLabel(cpd::ProgrammeKind_Name(kind), "PROGRAMME_KIND_");
}

// "1 session", "2 sessions".
std::string Plural(int64_t count, absl::string_view noun) {
  return absl::StrCat(count, " ", noun, count == 1 ? "" : "s");
}

std::string OrNone(const std::string& key, absl::string_view none) {
  return key.empty() ? std::string(none) : key;
}

template <typename Strings>
std::string List(const Strings& strings, absl::string_view separator = ", ") {
  return absl::StrJoin(strings, separator);
}

// Replaces control characters (line breaks, tabs, terminal escapes: C0,
// DEL and, in UTF-8, C1) with spaces, for aligned text that cannot drive
// the terminal.
std::string Printable(absl::string_view text) {
  std::string result;
  result.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte == 0x7f) {
      result += ' ';
    } else if (byte == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      result += ' ';  // U+0080 to U+009F, e.g. U+009B (CSI).
      ++i;
    } else {
      result += text[i];
    }
  }
  return result;
}

// The cells of a row of (session, attendee) pair counts: the five counts
// and the share evidenced (on time or late).
std::vector<std::string> CountsCells(const insights::FollowThroughCounts& c) {
  return {Count(c.pairs()),   Count(c.on_time()),
          Count(c.late()),    Count(c.overdue()),
          Count(c.pending()), FormatRatio(c.on_time() + c.late(), c.pairs())};
}

std::vector<Column> CountsColumns() {
  return {{"Pairs", Align::kRight},   {"On time", Align::kRight},
          {"Late", Align::kRight},    {"Overdue", Align::kRight},
          {"Pending", Align::kRight}, {"Evidenced", Align::kRight}};
}

template <typename T>
void Append(std::vector<T>* to, std::vector<T> more) {
  to->insert(to->end(), std::make_move_iterator(more.begin()),
             std::make_move_iterator(more.end()));
}

// A ratio of pence as "n/d (p%)" in pounds, or "–" when d is 0.
std::string PoundsRatio(const insights::Ratio& ratio) {
  if (ratio.denominator() == 0) return kNoData;
  return absl::StrCat(
      FormatPounds(ratio.numerator()), "/", FormatPounds(ratio.denominator()),
      " (", FormatPercent(ratio.numerator(), ratio.denominator()), ")");
}

// ----------------------------------------------------------------- headlines

// One line summing up a view replayed as evidence.
std::string Headline(const insights::EmergentNeedsView& view) {
  std::vector<std::string> emergent;
  for (const insights::EmergentNeedRow& row : view.rows()) {
    if (row.emergent()) emergent.push_back(row.area());
  }
  if (emergent.empty()) return "no area emergent";
  return absl::StrCat(emergent.size(), " emergent: ", List(emergent));
}

std::string Headline(const insights::FollowThroughView& view) {
  const insights::FollowThroughCounts& total = view.total().counts();
  return absl::StrCat(
      "evidenced ", FormatRatio(total.on_time() + total.late(), total.pairs()),
      ", overdue ", total.overdue());
}

std::string Headline(const insights::ConnectingTheDotsView& view) {
  return absl::StrCat("responded ", FormatRatio(view.responded()));
}

std::string Headline(const insights::TimeAndMoneyView& view) {
  return absl::StrCat("spend ", FormatPounds(view.spend_pence()),
                      ", minutes held ", view.minutes_held());
}

std::string Headline(const insights::ImpactView& view) {
  int with_attendees = 0;
  for (const insights::AreaImpact& area : view.areas()) {
    if (area.attendees() > 0) ++with_attendees;
  }
  return absl::StrCat(with_attendees, " of ", view.areas_size(),
                      " areas with attendees");
}

std::string Headline(const insights::ProgrammeDesignView& view) {
  int flagged = 0;
  for (const insights::ProgrammeDesign& programme : view.programmes()) {
    if (programme.flagged()) ++flagged;
  }
  return absl::StrCat(view.programmes_size(), " programmes, ", flagged,
                      " flagged, ", view.one_off_sessions(),
                      " one-off sessions");
}

std::string ThenHeadline(const insights::ReplayedEvidence& evidence) {
  using E = insights::ReplayedEvidence;
  switch (evidence.then_case()) {
    case E::kEmergentNeedsThen:
      return Headline(evidence.emergent_needs_then());
    case E::kFollowThroughThen:
      return Headline(evidence.follow_through_then());
    case E::kConnectingTheDotsThen:
      return Headline(evidence.connecting_the_dots_then());
    case E::kTimeAndMoneyThen:
      return Headline(evidence.time_and_money_then());
    case E::kImpactThen:
      return Headline(evidence.impact_then());
    case E::kProgrammeDesignThen:
      return Headline(evidence.programme_design_then());
    case E::THEN_NOT_SET:
      break;
  }
  return absl::StrCat("not replayed: ",
                      OrNone(evidence.not_replayed_reason(), "no reason"));
}

std::string NowHeadline(const insights::ReplayedEvidence& evidence) {
  using E = insights::ReplayedEvidence;
  switch (evidence.now_case()) {
    case E::kEmergentNeedsNow:
      return Headline(evidence.emergent_needs_now());
    case E::kFollowThroughNow:
      return Headline(evidence.follow_through_now());
    case E::kConnectingTheDotsNow:
      return Headline(evidence.connecting_the_dots_now());
    case E::kTimeAndMoneyNow:
      return Headline(evidence.time_and_money_now());
    case E::kImpactNow:
      return Headline(evidence.impact_now());
    case E::kProgrammeDesignNow:
      return Headline(evidence.programme_design_now());
    case E::NOW_NOT_SET:
      break;
  }
  return "";
}

}  // namespace

// ---------------------------------------------------------------------------
// Query flags.

absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view text) {
  if (text == "table") return OutputFormat::kTable;
  if (text == "json") return OutputFormat::kJson;
  if (text == "csv") return OutputFormat::kCsv;
  return absl::InvalidArgumentError(
      absl::StrCat("--format: \"", text, "\" is not one of table, json, csv"));
}

absl::StatusOr<OutputFormat> OutputFormatFlag(const ParsedArgs& args) {
  std::optional<std::string> format = args.Get("format");
  if (!format.has_value()) return OutputFormat::kTable;
  return ParseOutputFormat(*format);
}

absl::StatusOr<absl::Time> ParseTimeOrDate(absl::string_view flag,
                                           absl::string_view text) {
  const absl::Status bad = absl::InvalidArgumentError(
      absl::StrCat(flag, ": \"", text,
                   "\" is not a date (YYYY-MM-DD) or an RFC 3339 time "
                   "(e.g. 2025-09-01T08:30:00Z)"));
  absl::Time time;
  const bool date_shaped =
      text.size() == 10 && text[4] == '-' && text[7] == '-' &&
      std::all_of(text.begin(), text.end(), [](char c) {
        return c == '-' || absl::ascii_isdigit(static_cast<unsigned char>(c));
      });
  if (date_shaped) {
    absl::CivilDay day;
    // A date that does not exist (2025-02-30) would be normalised: refuse it.
    if (!absl::ParseCivilTime(text, &day) ||
        absl::FormatCivilTime(day) != text) {
      return bad;
    }
    time = absl::FromCivil(day, absl::UTCTimeZone());
  } else {
    std::string error;
    if (text.find_first_of("Tt") == absl::string_view::npos ||
        !absl::ParseTime(absl::RFC3339_full, text, &time, &error) ||
        time == absl::InfiniteFuture() || time == absl::InfinitePast()) {
      return bad;
    }
  }
  if (time < absl::FromUnixSeconds(kMinTimestampSeconds) ||
      time > absl::FromUnixSeconds(kMaxTimestampSeconds)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": \"", text, "\" is outside years 1 to 9999"));
  }
  return time;
}

absl::Status BuildViewQuery(const ParsedArgs& args,
                            insights::ViewQuery* query) {
  if (args.Has("school") && args.Has("department")) {
    return absl::InvalidArgumentError(
        "give --school or --department, not both");
  }
  for (const char* flag : {"school", "department"}) {
    std::optional<std::string> id = args.Get(flag);
    if (!id.has_value()) continue;
    if (id->empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": empty id"));
    }
    if (std::string(flag) == "school") {
      query->mutable_scope()->set_school_id(*id);
    } else {
      query->mutable_scope()->set_department_id(*id);
    }
  }
  // --from, --to, --as-of-time.
  constexpr const char* kTimeFlags[] = {"from", "to", "as-of-time"};
  std::optional<absl::Time> times[3];
  for (int i = 0; i < 3; ++i) {
    std::optional<std::string> text = args.Get(kTimeFlags[i]);
    if (!text.has_value()) continue;
    absl::StatusOr<absl::Time> time =
        ParseTimeOrDate(absl::StrCat("--", kTimeFlags[i]), *text);
    if (!time.ok()) return time.status();
    times[i] = *time;
  }
  if (times[0].has_value() && times[1].has_value() && *times[0] >= *times[1]) {
    return absl::InvalidArgumentError("--from must be before --to");
  }
  if (times[0].has_value()) SetTimestamp(*times[0], query->mutable_from());
  if (times[1].has_value()) SetTimestamp(*times[1], query->mutable_to());
  if (times[2].has_value()) {
    SetTimestamp(*times[2], query->mutable_as_of_time());
  }
  for (const char* flag : {"as-of-position", "min-position"}) {
    std::optional<std::string> text = args.Get(flag);
    if (!text.has_value()) continue;
    absl::StatusOr<uint64_t> position =
        ParseUint64(absl::StrCat("--", flag), *text);
    if (!position.ok()) return position.status();
    if (std::string(flag) == "as-of-position") {
      query->set_as_of_position(*position);
    } else {
      query->set_min_position(*position);
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Tables.

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

void Table::SetTotals(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  totals_ = std::move(cells);
  has_totals_ = true;
}

std::string Table::RenderText() const {
  if (columns_.empty()) return "";
  // Every line's cells, printable: the header, the rows, the totals.
  std::vector<std::vector<std::string>> lines;
  auto add = [&](const std::vector<std::string>& cells) {
    std::vector<std::string>& line = lines.emplace_back();
    for (const std::string& cell : cells) line.push_back(Printable(cell));
  };
  std::vector<std::string> headers;
  for (const Column& column : columns_) headers.push_back(column.header);
  add(headers);
  for (const auto& row : rows_) add(row);
  if (has_totals_) add(totals_);
  std::vector<size_t> widths(columns_.size());
  for (const auto& line : lines) {
    for (size_t i = 0; i < columns_.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(line[i]));
    }
  }

  auto render = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (i > 0) text += "  ";
      const std::string padding(widths[i] - DisplayWidth(cells[i]), ' ');
      if (columns_[i].align == Align::kRight) {
        absl::StrAppend(&text, padding, cells[i]);
      } else {
        absl::StrAppend(&text, cells[i], padding);
      }
    }
    absl::StripTrailingAsciiWhitespace(&text);
    return text + "\n";
  };
  std::vector<std::string> dashes;
  for (size_t width : widths) dashes.push_back(std::string(width, '-'));
  const std::string rule = render(dashes);

  std::string text = render(lines.front()) + rule;
  if (rows_.empty()) text += "(none)\n";
  for (size_t i = 1; i <= rows_.size(); ++i) text += render(lines[i]);
  if (has_totals_) text += rule + render(lines.back());
  return text;
}

std::string Table::RenderCsv() const {
  if (columns_.empty()) return "";
  auto line = [&](const std::vector<std::string>& cells, bool escape_text) {
    std::vector<std::string> fields;
    for (size_t i = 0; i < columns_.size(); ++i) {
      std::string cell = cells[i];
      if (escape_text && columns_[i].align == Align::kLeft && !cell.empty() &&
          std::string("=+-@\t\r").find(cell[0]) != std::string::npos) {
        cell.insert(0, "'");
      }
      fields.push_back(CsvField(cell));
    }
    return absl::StrCat(absl::StrJoin(fields, ","), "\n");
  };
  std::vector<std::string> headers;
  for (const Column& column : columns_) headers.push_back(column.header);
  std::string text = line(headers, /*escape_text=*/false);
  for (const auto& row : rows_) text += line(row, /*escape_text=*/true);
  return text;
}

std::string CsvField(absl::string_view field) {
  if (field.find_first_of(",\"\r\n") == absl::string_view::npos) {
    return std::string(field);
  }
  std::string quoted = "\"";
  for (char c : field) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

size_t DisplayWidth(absl::string_view text) {
  size_t width = 0;
  for (char c : text) {
    // Count every byte but UTF-8 continuation bytes (10xxxxxx).
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++width;
  }
  return width;
}

// ---------------------------------------------------------------------------
// Cells.

std::string FormatRatio(int64_t numerator, int64_t denominator) {
  if (denominator == 0) return kNoData;
  return absl::StrCat(numerator, "/", denominator, " (",
                      FormatPercent(numerator, denominator), ")");
}

std::string FormatRatio(const insights::Ratio& ratio) {
  return FormatRatio(ratio.numerator(), ratio.denominator());
}

std::string FormatPercent(int64_t numerator, int64_t denominator) {
  if (denominator == 0) return kNoData;
  const absl::int128 percent =
      DivideRoundingHalfUp(absl::int128(numerator) * 100, denominator);
  return absl::StrCat(static_cast<int64_t>(percent), "%");
}

std::string FormatMean(const insights::Ratio& ratio) {
  if (ratio.denominator() == 0) return kNoData;
  const absl::int128 hundredths = DivideRoundingHalfUp(
      absl::int128(ratio.numerator()) * 100, ratio.denominator());
  return absl::StrCat(Hundredths(hundredths), " (", ratio.numerator(), "/",
                      ratio.denominator(), ")");
}

std::string FormatPounds(int64_t pence) {
  return Hundredths(absl::int128(pence));
}

std::string FormatSigned(int64_t value) {
  return value > 0 ? absl::StrCat("+", value) : absl::StrCat(value);
}

std::string FormatDate(const google::protobuf::Timestamp& timestamp) {
  if (!IsSet(timestamp)) return "";
  return absl::FormatTime("%Y-%m-%d", ToTime(timestamp), absl::UTCTimeZone());
}

std::string FormatInstant(const google::protobuf::Timestamp& timestamp) {
  if (!IsSet(timestamp)) return "";
  if (timestamp.nanos() == 0 && timestamp.seconds() % 86400 == 0) {
    return FormatDate(timestamp);
  }
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", ToTime(timestamp),
                          absl::UTCTimeZone());
}

std::string FormatScope(const insights::ViewScope& scope) {
  switch (scope.target_case()) {
    case insights::ViewScope::kSchoolId:
      return absl::StrCat("school ", scope.school_id());
    case insights::ViewScope::kDepartmentId:
      return absl::StrCat("department ", scope.department_id());
    case insights::ViewScope::kTrust:
    case insights::ViewScope::TARGET_NOT_SET:
      break;
  }
  return "trust";
}

std::string FormatBasis(const insights::ViewBasis& basis) {
  return absl::StrCat(
      "Basis: ", FormatScope(basis.scope()), "; window ",
      FormatInstant(basis.from()), " to ", FormatInstant(basis.to()),
      " (exclusive); as of log position ", basis.as_of_position(), ", ",
      FormatInstant(basis.as_of_time()));
}

// ---------------------------------------------------------------------------
// Reports.

std::string RenderReport(const Report& report, OutputFormat format) {
  if (format == OutputFormat::kCsv) {
    if (report.main_section >= report.sections.size()) return "";
    return report.sections[report.main_section].table.RenderCsv();
  }
  std::string text;
  if (!report.title.empty()) absl::StrAppend(&text, report.title, "\n");
  for (const std::string& line : report.lines) {
    absl::StrAppend(&text, Printable(line), "\n");
  }
  for (const Section& section : report.sections) {
    if (!text.empty()) text += "\n";
    if (!section.title.empty()) {
      absl::StrAppend(&text, Printable(section.title), "\n");
    }
    for (const std::string& line : section.intro) {
      absl::StrAppend(&text, Printable(line), "\n");
    }
    text += section.table.RenderText();
    for (const std::string& note : section.notes) {
      absl::StrAppend(&text, Printable(note), "\n");
    }
  }
  return text;
}

Report EmergentNeedsReport(const insights::EmergentNeedsView& view) {
  Report report;
  report.title = "Emergent training needs";
  report.lines = {
      FormatBasis(view.basis()),
      absl::StrCat("Staff in scope: ", view.staff_in_scope(),
                   ". An area is EMERGENT when silos >= ", view.min_silos(),
                   ", uncovered >= ", view.min_uncovered_staff(),
                   " and uncovered >= ", view.min_uncovered_percent(),
                   "% of staff in scope.")};
  Section section;
  section.table = Table({{"Area"},
                         {"Obs", Align::kRight},
                         {"Coach", Align::kRight},
                         {"Appr", Align::kRight},
                         {"Need", Align::kRight},
                         {"Scope", Align::kRight},
                         {"Walks", Align::kRight},
                         {"Silos", Align::kRight},
                         {"Flagged", Align::kRight},
                         {"Covered", Align::kRight},
                         {"Uncovered", Align::kRight},
                         {"Sessions", Align::kRight},
                         {"Prev", Align::kRight},
                         {"Trend", Align::kRight},
                         {"Emergent"}});
  int64_t scope_needs = 0, walks = 0, sessions = 0, emergent = 0;
  for (const insights::EmergentNeedRow& row : view.rows()) {
    section.table.AddRow(
        {row.area(), Count(row.observation_staff()),
         Count(row.coaching_staff()), Count(row.appraisal_staff()),
         Count(row.identified_need_staff()), Count(row.scope_level_needs()),
         Count(row.learning_walks()), Count(row.silos()),
         Count(row.staff_flagged()), Count(row.covered()),
         Count(row.uncovered()), Count(row.sessions()),
         Count(row.staff_flagged_previous()), FormatSigned(row.trend()),
         row.emergent() ? "EMERGENT" : ""});
    scope_needs += row.scope_level_needs();
    walks += row.learning_walks();
    sessions += row.sessions();
    if (row.emergent()) ++emergent;
  }
  section.table.SetTotals({"Total", "", "", "", "", Count(scope_needs),
                           Count(walks), "", "", "", "", Count(sessions), "",
                           "", absl::StrCat(emergent, " emergent")});
  section.notes = {
      "Obs, Coach, Appr, Need: distinct staff flagged by observations, "
      "coaching, appraisal goals and",
      "named training needs; Scope: needs identified for a whole scope; "
      "Walks: learning walks;",
      "Flagged: distinct staff across the four; Covered / Uncovered: flagged "
      "staff who did / did not",
      "attend a session on the area held in the window; Sessions: sessions "
      "held on it; Prev: staff",
      "flagged in the previous window of equal length; Trend: Flagged - Prev.",
      "Totals add up Scope, Walks and Sessions over the areas (a walk or "
      "session on several areas",
      "counts once for each); distinct staff do not add up across areas."};
  report.sections.push_back(std::move(section));
  return report;
}

Report FollowThroughReport(const insights::FollowThroughView& view) {
  Report report;
  report.title = "Follow-through";
  report.lines = {
      FormatBasis(view.basis()),
      absl::StrCat(
          "Sessions held: ", view.sessions_held(),
          "; one-off (no programme): ", FormatRatio(view.one_off_share()),
          "; no follow-up planned: ", FormatRatio(view.no_follow_up_share()),
          ".")};

  Section sessions;
  sessions.title = "Sessions with follow-up due";
  std::vector<Column> columns = {
      {"Session"}, {"Title"}, {"Programme"}, {"Held"}, {"Due"}};
  Append(&columns, CountsColumns());
  sessions.table = Table(std::move(columns));
  for (const insights::SessionFollowThrough& session : view.sessions()) {
    std::vector<std::string> cells = {
        session.session_id(), session.title(),
        OrNone(session.programme_id(), "(one-off)"),
        FormatDate(session.held_at()), FormatDate(session.follow_up_due())};
    Append(&cells, CountsCells(session.counts()));
    sessions.table.AddRow(std::move(cells));
  }
  std::vector<std::string> totals = {
      "Total", Plural(view.total().sessions(), "session"), "", "", ""};
  Append(&totals, CountsCells(view.total().counts()));
  sessions.table.SetTotals(std::move(totals));
  sessions.notes = {
      "Pairs: (session, attendee in scope); On time / Late: evidenced by / "
      "after the due time;",
      "Overdue: no evidence, due before the as-of time; Pending: no evidence, "
      "not yet due;",
      "Evidenced: (On time + Late) / Pairs."};
  report.sections.push_back(std::move(sessions));

  const std::pair<const char*, const char*> kinds[] = {
      {"Programme", "(one-off)"},
      {"School", "(none)"},
      {"Department", "(no department)"}};
  const google::protobuf::RepeatedPtrField<insights::FollowThroughRollup>*
      rollups[] = {&view.by_programme(), &view.by_school(),
                   &view.by_department()};
  for (size_t i = 0; i < 3; ++i) {
    Section section;
    section.title = absl::StrCat("By ", absl::AsciiStrToLower(kinds[i].first));
    std::vector<Column> rollup_columns = {{kinds[i].first},
                                          {"Sessions", Align::kRight}};
    Append(&rollup_columns, CountsColumns());
    section.table = Table(std::move(rollup_columns));
    for (const insights::FollowThroughRollup& rollup : *rollups[i]) {
      std::vector<std::string> cells = {OrNone(rollup.key(), kinds[i].second),
                                        Count(rollup.sessions())};
      Append(&cells, CountsCells(rollup.counts()));
      section.table.AddRow(std::move(cells));
    }
    report.sections.push_back(std::move(section));
  }
  return report;
}

Report StaffRecordReport(const insights::StaffRecordView& view) {
  Report report;
  report.title = absl::StrCat("Staff record: ", view.staff_id());
  std::string name = view.personal().display_name();
  if (name.empty()) name = "(no name on record)";
  if (!view.personal().email().empty()) {
    absl::StrAppend(&name, " <", view.personal().email(), ">");
  }
  const std::string left =
      IsSet(view.left_at())
          ? absl::StrCat("; left ", FormatDate(view.left_at()))
          : "; still a member";
  report.lines = {
      absl::StrCat("Basis: the whole record as of log position ",
                   view.basis().as_of_position(), ", ",
                   FormatInstant(view.basis().as_of_time())),
      absl::StrCat("Name: ", name),
      absl::StrCat("Joined ", OrNone(FormatDate(view.joined_at()), "(unknown)"),
                   left),
      absl::StrCat("Latest development points: ",
                   view.latest_development_points().empty()
                       ? "(none)"
                       : List(view.latest_development_points())),
      absl::StrCat("Sessions attended (", view.sessions_attended_size(), "): ",
                   view.sessions_attended().empty()
                       ? "(none)"
                       : List(view.sessions_attended()))};

  Section placements;
  placements.title = "Placements";
  placements.table = Table(
      {{"From"}, {"School"}, {"Departments"}, {"Role"}, {"Line manager"}});
  for (const insights::Placement& placement : view.placements()) {
    placements.table.AddRow(
        {FormatDate(placement.from()), placement.school_id(),
         List(placement.department_ids()), RoleLabel(placement.role()),
         placement.line_manager_id()});
  }

  Section timeline;
  timeline.title = "Timeline";
  timeline.table = Table({{"Date"},
                          {"Position", Align::kRight},
                          {"Type"},
                          {"Record"},
                          {"Role"},
                          {"Areas"},
                          {"Summary"}});
  for (const insights::TimelineEntry& entry : view.timeline()) {
    timeline.table.AddRow({FormatDate(entry.occurred_at()),
                           Count(static_cast<int64_t>(entry.position())),
                           entry.type(), entry.record_id(), entry.role(),
                           List(entry.areas()), entry.summary()});
  }

  Section goals;
  goals.title = "Open goals";
  goals.table = Table({{"Goal"}, {"Areas"}, {"Set"}, {"Review due"}});
  for (const insights::OpenGoal& goal : view.open_goals()) {
    goals.table.AddRow({goal.goal_id(), List(goal.areas()),
                        FormatDate(goal.set_at()),
                        FormatDate(goal.review_due())});
  }

  Section outstanding;
  outstanding.title = "Outstanding follow-ups";
  outstanding.table = Table({{"Session"}, {"Due"}, {"Overdue"}});
  for (const insights::OutstandingFollowUp& follow_up :
       view.outstanding_follow_ups()) {
    outstanding.table.AddRow({follow_up.session_id(),
                              FormatDate(follow_up.due()),
                              follow_up.overdue() ? "OVERDUE" : ""});
  }

  report.sections.push_back(std::move(placements));
  report.sections.push_back(std::move(timeline));
  report.sections.push_back(std::move(goals));
  report.sections.push_back(std::move(outstanding));
  report.main_section = 1;  // The timeline.
  return report;
}

Report ConnectingTheDotsReport(const insights::ConnectingTheDotsView& view) {
  Report report;
  report.title = "Connecting the dots";
  report.lines = {
      FormatBasis(view.basis()),
      absl::StrCat("Observation development points answered by another silo "
                   "within 42 days: ",
                   FormatRatio(view.responded()),
                   "; unanswered: ", view.unanswered_size(),
                   "; awaiting (42 days not yet passed): ", view.awaiting(),
                   ".")};

  Section rollups;
  rollups.title = "Responded, by school and department";
  rollups.table = Table({{"Level"}, {"Key"}, {"Responded", Align::kRight}});
  for (const insights::DotsRollup& rollup : view.by_school()) {
    rollups.table.AddRow(
        {"school", rollup.key(), FormatRatio(rollup.responded())});
  }
  for (const insights::DotsRollup& rollup : view.by_department()) {
    rollups.table.AddRow(
        {"department", rollup.key(), FormatRatio(rollup.responded())});
  }
  rollups.table.SetTotals({"Total", "", FormatRatio(view.responded())});
  rollups.notes = {
      "Responded: points answered / points. A person in several departments "
      "counts in each,",
      "so departments need not add up to the total."};

  Section unanswered;
  unanswered.title = "Unanswered points (no response within 42 days)";
  unanswered.table =
      Table({{"Observed"}, {"Observation"}, {"Staff"}, {"Area"}});
  for (const insights::DevelopmentPoint& point : view.unanswered()) {
    unanswered.table.AddRow({FormatDate(point.observed_at()),
                             point.observation_id(), point.staff_id(),
                             point.area()});
  }
  report.sections.push_back(std::move(rollups));
  report.sections.push_back(std::move(unanswered));
  return report;
}

Report TimeAndMoneyReport(const insights::TimeAndMoneyView& view) {
  Report report;
  report.title = "Time and money";
  const insights::Ratio& cost = view.cost_per_evidenced_follow_up();
  const std::string cost_text =
      cost.denominator() == 0
          ? std::string(kNoData)
          : absl::StrCat(FormatPounds(static_cast<int64_t>(DivideRoundingHalfUp(
                             cost.numerator(), cost.denominator()))),
                         " (", FormatPounds(cost.numerator()), " / ",
                         cost.denominator(), " follow-ups)");
  report.lines = {
      FormatBasis(view.basis()),
      absl::StrCat("Time (minutes): ", view.minutes_allocated(), " allocated; ",
                   view.minutes_held(), " held (session minutes x attendees); ",
                   view.minutes_repurposed(), " repurposed."),
      absl::StrCat("Money (GBP): budget ", FormatPounds(view.budget_pence()),
                   "; spend ", FormatPounds(view.spend_pence()),
                   "; cost per evidenced follow-up ", cost_text, "."),
      absl::StrCat("Serving no active priority: minutes ",
                   FormatRatio(view.minutes_serving_no_priority()), "; spend ",
                   PoundsRatio(view.spend_serving_no_priority()), ".")};

  const std::string total_spend = FormatPounds(view.spend_pence());
  const std::string total_minutes = Count(view.minutes_held());
  auto amounts =
      [&](const std::string& title, const std::string& key_header,
          const std::string& no_key,
          const google::protobuf::RepeatedPtrField<insights::Amount>& rows) {
        Section section;
        section.title = title;
        section.table = Table({{key_header},
                               {"Spend (GBP)", Align::kRight},
                               {"Minutes held", Align::kRight}});
        for (const insights::Amount& amount : rows) {
          section.table.AddRow({OrNone(amount.key(), no_key),
                                FormatPounds(amount.pence()),
                                Count(amount.minutes())});
        }
        section.table.SetTotals({"Total", total_spend, total_minutes});
        return section;
      };
  Section by_area = amounts("Spend and minutes by area", "Area", "(no area)",
                            view.spend_by_area());
  by_area.notes = {
      "A spend or session on several areas counts in full under each, so "
      "the rows can add up to",
      "more than the total."};
  report.sections.push_back(std::move(by_area));
  report.sections.push_back(amounts("Spend and minutes by programme",
                                    "Programme", "(none)",
                                    view.spend_by_programme()));

  Section priorities;
  priorities.title = "Minutes and spend serving each improvement priority";
  priorities.table = Table({{"Priority"},
                            {"Title"},
                            {"Minutes held", Align::kRight},
                            {"Spend (GBP)", Align::kRight}});
  for (const insights::PriorityShare& share : view.by_priority()) {
    priorities.table.AddRow({share.priority_id(), share.title(),
                             Count(share.minutes_held()),
                             FormatPounds(share.spend_pence())});
  }
  priorities.table.AddRow(
      {"(no priority)", "serving no active priority",
       Count(view.minutes_serving_no_priority().numerator()),
       FormatPounds(view.spend_serving_no_priority().numerator())});
  priorities.table.SetTotals({"Total", "", total_minutes, total_spend});
  priorities.notes = {
      "A session or spend serving several priorities counts in full for "
      "each."};
  report.sections.push_back(std::move(priorities));
  return report;
}

Report ImpactReport(const insights::ImpactView& view) {
  Report report;
  report.title = "Impact";
  report.lines = {
      FormatBasis(view.basis()),
      "Mean observation rating on each area (1-4), as mean (sum/count): "
      "attendees of sessions on it",
      "before their first such session and from it on, beside staff who "
      "attended none, split at the",
      "area's first session in the window."};
  Section section;
  section.table = Table({{"Area"},
                         {"Attendees", Align::kRight},
                         {"Attendees before", Align::kRight},
                         {"Attendees after", Align::kRight},
                         {"Others before", Align::kRight},
                         {"Others after", Align::kRight},
                         {"Eval L1", Align::kRight},
                         {"Eval L2", Align::kRight},
                         {"Eval L3", Align::kRight},
                         {"Eval L4", Align::kRight},
                         {"Eval L5", Align::kRight}});
  for (const insights::AreaImpact& area : view.areas()) {
    std::vector<std::string> cells = {area.area(),
                                      Count(area.attendees()),
                                      FormatMean(area.attendees_before()),
                                      FormatMean(area.attendees_after()),
                                      FormatMean(area.others_before()),
                                      FormatMean(area.others_after())};
    for (int level = 0; level < 5; ++level) {
      cells.push_back(level < area.evaluations_by_level_size()
                          ? Count(area.evaluations_by_level(level))
                          : "");
    }
    section.table.AddRow(std::move(cells));
  }
  section.notes = {
      "Eval L1-L5: impact evaluations by Guskey level (1 reactions, 2 "
      "learning, 3 organisational",
      "support, 4 use of new knowledge and skills, 5 pupil outcomes). No "
      "totals: a person or an",
      "evaluation may count under several areas."};
  report.sections.push_back(std::move(section));
  return report;
}

Report DecisionAuditReport(const insights::DecisionAuditView& view) {
  Report report;
  report.title = "Decision audit";
  report.lines = {FormatBasis(view.basis()),
                  absl::StrCat("Decisions: ", view.decisions_size(), ".")};
  Section decisions;
  decisions.title = "Decisions";
  decisions.table = Table({{"Decided"},
                           {"Position", Align::kRight},
                           {"Decision id"},
                           {"Decided by"},
                           {"Areas"},
                           {"Decision"},
                           {"Evidence", Align::kRight}});
  for (const insights::AuditedDecision& decision : view.decisions()) {
    decisions.table.AddRow({FormatDate(decision.decided_at()),
                            Count(static_cast<int64_t>(decision.position())),
                            decision.decision_id(),
                            decision.decided_by_staff_id(),
                            List(decision.areas()), decision.decision(),
                            Count(decision.evidence_size())});
  }
  report.sections.push_back(std::move(decisions));

  for (const insights::AuditedDecision& decision : view.decisions()) {
    Section evidence;
    evidence.title = absl::StrCat("Decision ", decision.decision_id(),
                                  ": evidence replayed");
    evidence.intro = {
        absl::StrCat("Rationale: ", OrNone(decision.rationale(), "(none)")),
        absl::StrCat("Alternatives considered: ",
                     decision.alternatives_considered().empty()
                         ? "(none)"
                         : List(decision.alternatives_considered(), "; "))};
    evidence.table = Table({{"View"},
                            {"Parameters"},
                            {"Position", Align::kRight},
                            {"Records"},
                            {"Summary"},
                            {"Then (as of its position)"},
                            {"Now"}});
    for (const insights::ReplayedEvidence& reference : decision.evidence()) {
      // Sorted, for a stable line.
      std::map<std::string, std::string> parameters(
          reference.parameters().begin(), reference.parameters().end());
      std::vector<std::string> pairs;
      for (const auto& [key, value] : parameters) {
        pairs.push_back(absl::StrCat(key, "=", value));
      }
      evidence.table.AddRow(
          {OrNone(reference.view(), "(records)"), List(pairs, "; "),
           Count(static_cast<int64_t>(reference.log_position())),
           List(reference.record_ids()), reference.summary(),
           ThenHeadline(reference), NowHeadline(reference)});
    }
    report.sections.push_back(std::move(evidence));
  }
  return report;
}

Report ProgrammeDesignReport(const insights::ProgrammeDesignView& view) {
  Report report;
  report.title = "Programme design";
  int64_t sessions = 0, flagged = 0;
  for (const insights::ProgrammeDesign& programme : view.programmes()) {
    sessions += programme.sessions_held();
    if (programme.flagged()) ++flagged;
  }
  report.lines = {
      FormatBasis(view.basis()),
      absl::StrCat(
          "Programmes: ", view.programmes_size(),
          "; FLAGGED (never reach C, techniques, or D, embedding): ", flagged,
          "; one-off sessions (no programme): ", view.one_off_sessions(), ".")};
  Section section;
  section.table = Table({{"Programme"},
                         {"Title"},
                         {"Kind"},
                         {"Sessions", Align::kRight},
                         {"Span (weeks)", Align::kRight},
                         {"Attendees with follow-up", Align::kRight},
                         {"Groups"},
                         {"C techniques"},
                         {"D embedding"},
                         {"Flag"}});
  for (const insights::ProgrammeDesign& programme : view.programmes()) {
    section.table.AddRow({programme.programme_id(), programme.title(),
                          KindLabel(programme.kind()),
                          Count(programme.sessions_held()),
                          Count(programme.span_weeks()),
                          FormatRatio(programme.attendees_with_follow_up()),
                          programme.mechanism_groups().empty()
                              ? "(none)"
                              : List(programme.mechanism_groups(), " "),
                          programme.reaches_techniques() ? "yes" : "no",
                          programme.reaches_embedding() ? "yes" : "no",
                          programme.flagged() ? "FLAGGED" : ""});
  }
  section.table.SetTotals({"Total", "", "", Count(sessions), "", "", "", "", "",
                           absl::StrCat(flagged, " flagged")});
  section.notes = {
      "Groups: EEF mechanisms used by its sessions and their follow-ups (A "
      "build knowledge,",
      "B motivate, C develop techniques, D embed practice). Attendees with "
      "follow-up: distinct",
      "attendees with follow-up evidence / distinct attendees."};
  report.sections.push_back(std::move(section));

  Section one_offs;
  one_offs.title = "One-off sessions (no programme)";
  one_offs.table = Table({{"Session"}});
  for (const std::string& id : view.one_off_session_ids()) {
    one_offs.table.AddRow({id});
  }
  report.sections.push_back(std::move(one_offs));
  return report;
}

Report ProjectionStatusReport(const insights::ProjectionStatus& status) {
  Report report;
  report.title = "Views";
  Section section;
  section.table = Table({{"Position", Align::kRight},
                         {"Head", Align::kRight},
                         {"Lag", Align::kRight},
                         {"Rebuilding"},
                         {"Version", Align::kRight}});
  section.table.AddRow({absl::StrCat(status.position()),
                        absl::StrCat(status.head()), absl::StrCat(status.lag()),
                        status.rebuilding() ? "yes" : "no",
                        absl::StrCat(status.version())});
  section.notes = {
      "Position: the last log position the views have read; Head: the "
      "trust's log head."};
  report.sections.push_back(std::move(section));
  return report;
}

// ---------------------------------------------------------------------------
// Decision replay.

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string ScalarFigure(const Message& message, const FieldDescriptor* field,
                         int index) {
  const Reflection* r = message.GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(repeated ? r->GetRepeatedInt32(message, field, index)
                                   : r->GetInt32(message, field));
    case FieldDescriptor::CPPTYPE_INT64: {
      const int64_t value = repeated
                                ? r->GetRepeatedInt64(message, field, index)
                                : r->GetInt64(message, field);
      return absl::EndsWith(field->name(), "_pence") ? FormatPounds(value)
                                                     : absl::StrCat(value);
    }
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(repeated ? r->GetRepeatedUInt32(message, field, index)
                                   : r->GetUInt32(message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(repeated ? r->GetRepeatedUInt64(message, field, index)
                                   : r->GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(repeated ? r->GetRepeatedDouble(message, field, index)
                                   : r->GetDouble(message, field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(repeated ? r->GetRepeatedFloat(message, field, index)
                                   : r->GetFloat(message, field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (repeated ? r->GetRepeatedBool(message, field, index)
                       : r->GetBool(message, field))
                 ? "yes"
                 : "no";
    case FieldDescriptor::CPPTYPE_ENUM:
      return (repeated ? r->GetRepeatedEnum(message, field, index)
                       : r->GetEnum(message, field))
          ->name();
    case FieldDescriptor::CPPTYPE_STRING:
      return repeated ? r->GetRepeatedString(message, field, index)
                      : r->GetString(message, field);
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return "";
}

// The name of a list element: its first non-empty text field.
std::string ElementKey(const Message& element, int index) {
  const google::protobuf::Descriptor* descriptor = element.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->is_repeated() ||
        field->cpp_type() != FieldDescriptor::CPPTYPE_STRING) {
      continue;
    }
    std::string value = element.GetReflection()->GetString(element, field);
    if (!value.empty()) return value;
  }
  return absl::StrCat(index);
}

void AddFigures(const Message& message, const std::string& prefix,
                std::vector<Figure>* out);

void AddMessageFigure(const Message& value, const std::string& path,
                      std::vector<Figure>* out) {
  if (const auto* ratio = dynamic_cast<const insights::Ratio*>(&value)) {
    out->push_back(
        {path, absl::StrCat(ratio->numerator(), "/", ratio->denominator())});
  } else if (const auto* time =
                 dynamic_cast<const google::protobuf::Timestamp*>(&value)) {
    out->push_back({path, FormatInstant(*time)});
  } else {
    AddFigures(value, path + ".", out);
  }
}

void AddFigures(const Message& message, const std::string& prefix,
                std::vector<Figure>* out) {
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (prefix.empty() && field->name() == "basis") continue;
    const std::string path = prefix + field->name();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_map()) continue;  // No view holds a map of figures.
      if (!field->is_repeated()) {
        AddMessageFigure(r->GetMessage(message, field), path, out);
        continue;
      }
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        const Message& element = r->GetRepeatedMessage(message, field, j);
        AddMessageFigure(
            element, absl::StrCat(path, "[", ElementKey(element, j), "]"), out);
      }
    } else if (field->is_repeated()) {
      std::vector<std::string> values;
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        values.push_back(ScalarFigure(message, field, j));
      }
      out->push_back({path, absl::StrJoin(values, ", ")});
    } else {
      out->push_back({path, ScalarFigure(message, field, 0)});
    }
  }
}

bool IsBlankFigure(absl::string_view value) {
  return value.empty() || value == "0" || value == "no" || value == "0/0" ||
         value == "0.00";
}

std::optional<int64_t> AsInteger(absl::string_view text) {
  int64_t value;
  if (!absl::SimpleAtoi(text, &value)) return std::nullopt;
  return value;
}

// The replayed view of one side ("then" or "now") of `evidence`, if any.
const Message* ReplayedView(const insights::ReplayedEvidence& evidence,
                            absl::string_view side) {
  const google::protobuf::OneofDescriptor* oneof =
      evidence.GetDescriptor()->FindOneofByName(std::string(side));
  if (oneof == nullptr) return nullptr;
  const Reflection* r = evidence.GetReflection();
  const FieldDescriptor* field = r->GetOneofFieldDescriptor(evidence, oneof);
  if (field == nullptr) return nullptr;
  return &r->GetMessage(evidence, field);
}

const insights::ViewBasis* BasisOf(const Message& view) {
  const FieldDescriptor* field = view.GetDescriptor()->FindFieldByName("basis");
  if (field == nullptr ||
      field->message_type() != insights::ViewBasis::descriptor()) {
    return nullptr;
  }
  return static_cast<const insights::ViewBasis*>(
      &view.GetReflection()->GetMessage(view, field));
}

std::string EvidenceParameters(const insights::ReplayedEvidence& evidence) {
  std::map<std::string, std::string> sorted(evidence.parameters().begin(),
                                            evidence.parameters().end());
  std::vector<std::string> pairs;
  for (const auto& [key, value] : sorted) {
    pairs.push_back(absl::StrCat(key, "=", value));
  }
  return absl::StrJoin(pairs, "; ");
}

}  // namespace

std::vector<Figure> ViewFigures(const google::protobuf::Message& view) {
  std::vector<Figure> figures;
  AddFigures(view, "", &figures);
  return figures;
}

std::vector<FigureChange> CompareFigures(const std::vector<Figure>& then,
                                         const std::vector<Figure>& now) {
  std::map<std::string, std::string> now_values;
  for (const Figure& figure : now) now_values[figure.path] = figure.value;
  std::map<std::string, bool> seen;
  std::vector<FigureChange> changes;
  auto add = [&](const std::string& path, const std::string* before,
                 const std::string* after) {
    const std::string then_value = before ? *before : "";
    const std::string now_value = after ? *after : "";
    if (IsBlankFigure(then_value) && IsBlankFigure(now_value)) return;
    FigureChange change{path, then_value, now_value, ""};
    if (before == nullptr) {
      change.change = "new";
    } else if (after == nullptr) {
      change.change = "gone";
    } else if (then_value != now_value) {
      std::optional<int64_t> a = AsInteger(then_value);
      std::optional<int64_t> b = AsInteger(now_value);
      change.change = a && b ? FormatSigned(*b - *a) : "changed";
    }
    changes.push_back(std::move(change));
  };
  for (const Figure& figure : then) {
    seen[figure.path] = true;
    auto it = now_values.find(figure.path);
    add(figure.path, &figure.value,
        it == now_values.end() ? nullptr : &it->second);
  }
  for (const Figure& figure : now) {
    if (!seen.count(figure.path)) add(figure.path, nullptr, &figure.value);
  }
  return changes;
}

Report DecisionReplayReport(const insights::DecisionAuditView& view) {
  Report report;
  report.title = "Decision replay";
  report.lines = {
      FormatBasis(view.basis()),
      absl::StrCat("Decisions: ", view.decisions_size(),
                   ". For each piece of evidence a decision cites: the view "
                   "as the decider saw it (then,"),
      "as of the log position cited) beside the same view as of this audit "
      "(now); Change is now - then.",
      "Figures that are 0 or empty both then and now are left out."};
  for (const insights::AuditedDecision& decision : view.decisions()) {
    Section header;
    header.title = absl::StrCat("Decision ", decision.decision_id(), ": ",
                                decision.decision());
    header.intro = {
        absl::StrCat(
            "Decided ", FormatDate(decision.decided_at()), " by ",
            OrNone(decision.decided_by_staff_id(), "(unknown)"),
            "; recorded at log position ", decision.position(), "; areas ",
            decision.areas().empty() ? "(none)" : List(decision.areas())),
        absl::StrCat("Rationale: ", OrNone(decision.rationale(), "(none)")),
        absl::StrCat("Alternatives considered: ",
                     decision.alternatives_considered().empty()
                         ? "(none)"
                         : List(decision.alternatives_considered(), "; "))};
    header.table = Table({{"#", Align::kRight},
                          {"Evidence"},
                          {"Parameters"},
                          {"Position", Align::kRight},
                          {"Replayed"}});
    for (int i = 0; i < decision.evidence_size(); ++i) {
      const insights::ReplayedEvidence& evidence = decision.evidence(i);
      const bool replayed = ReplayedView(evidence, "then") != nullptr;
      header.table.AddRow(
          {Count(i), OrNone(evidence.view(), "(records)"),
           evidence.view().empty() ? List(evidence.record_ids())
                                   : EvidenceParameters(evidence),
           Count(static_cast<int64_t>(evidence.log_position())),
           replayed
               ? "yes, below"
               : absl::StrCat("no: ", OrNone(evidence.not_replayed_reason(),
                                             "no reason"))});
    }
    report.sections.push_back(std::move(header));

    for (int i = 0; i < decision.evidence_size(); ++i) {
      const insights::ReplayedEvidence& evidence = decision.evidence(i);
      const Message* then = ReplayedView(evidence, "then");
      const Message* now = ReplayedView(evidence, "now");
      if (then == nullptr || now == nullptr) continue;
      Section section;
      section.title = absl::StrCat("Decision ", decision.decision_id(),
                                   ", evidence ", i, ": ", evidence.view());
      if (const insights::ViewBasis* basis = BasisOf(*then)) {
        section.intro.push_back(absl::StrCat("Then: ", FormatBasis(*basis)));
      }
      if (const insights::ViewBasis* basis = BasisOf(*now)) {
        section.intro.push_back(absl::StrCat("Now:  ", FormatBasis(*basis)));
      }
      if (!evidence.summary().empty()) {
        section.intro.push_back(
            absl::StrCat("Summary as recorded: ", evidence.summary()));
      }
      section.table = Table({{"Figure"},
                             {"Then", Align::kRight},
                             {"Now", Align::kRight},
                             {"Change", Align::kRight}});
      int changed = 0;
      for (const FigureChange& change :
           CompareFigures(ViewFigures(*then), ViewFigures(*now))) {
        if (!change.change.empty()) ++changed;
        section.table.AddRow(
            {change.path, change.then, change.now, change.change});
      }
      section.notes = {changed == 0
                           ? "No figure has changed since the decision."
                           : absl::StrCat(changed, " figure",
                                          changed == 1 ? " has" : "s have",
                                          " changed since the decision.")};
      report.sections.push_back(std::move(section));
    }
  }
  return report;
}

absl::StatusOr<std::string> FormatDecisionReplay(
    const insights::DecisionAuditView& view, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    absl::StatusOr<std::string> json = MessageToJsonLine(view);
    if (!json.ok()) return json.status();
    return *json + "\n";
  }
  if (format == OutputFormat::kTable) {
    return RenderReport(DecisionReplayReport(view), format);
  }
  Table table({{"Decision"},
               {"Evidence", Align::kRight},
               {"View"},
               {"Figure"},
               {"Then", Align::kRight},
               {"Now", Align::kRight},
               {"Change", Align::kRight}});
  for (const insights::AuditedDecision& decision : view.decisions()) {
    for (int i = 0; i < decision.evidence_size(); ++i) {
      const insights::ReplayedEvidence& evidence = decision.evidence(i);
      const Message* then = ReplayedView(evidence, "then");
      const Message* now = ReplayedView(evidence, "now");
      if (then == nullptr || now == nullptr) continue;
      for (const FigureChange& change :
           CompareFigures(ViewFigures(*then), ViewFigures(*now))) {
        table.AddRow({decision.decision_id(), Count(i), evidence.view(),
                      change.path, change.then, change.now, change.change});
      }
    }
  }
  return table.RenderCsv();
}

absl::StatusOr<std::string> FormatView(const google::protobuf::Message& view,
                                       OutputFormat format) {
  if (format == OutputFormat::kJson) {
    absl::StatusOr<std::string> json = MessageToJsonLine(view);
    if (!json.ok()) return json.status();
    return *json + "\n";
  }
  std::optional<Report> report;
  if (auto* v = dynamic_cast<const insights::EmergentNeedsView*>(&view)) {
    report = EmergentNeedsReport(*v);
  } else if (auto* v =
                 dynamic_cast<const insights::FollowThroughView*>(&view)) {
    report = FollowThroughReport(*v);
  } else if (auto* v = dynamic_cast<const insights::StaffRecordView*>(&view)) {
    report = StaffRecordReport(*v);
  } else if (auto* v =
                 dynamic_cast<const insights::ConnectingTheDotsView*>(&view)) {
    report = ConnectingTheDotsReport(*v);
  } else if (auto* v = dynamic_cast<const insights::TimeAndMoneyView*>(&view)) {
    report = TimeAndMoneyReport(*v);
  } else if (auto* v = dynamic_cast<const insights::ImpactView*>(&view)) {
    report = ImpactReport(*v);
  } else if (auto* v =
                 dynamic_cast<const insights::DecisionAuditView*>(&view)) {
    report = DecisionAuditReport(*v);
  } else if (auto* v =
                 dynamic_cast<const insights::ProgrammeDesignView*>(&view)) {
    report = ProgrammeDesignReport(*v);
  } else if (auto* v = dynamic_cast<const insights::ProjectionStatus*>(&view)) {
    report = ProjectionStatusReport(*v);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("no table for ", view.GetDescriptor()->full_name()));
  }
  return RenderReport(*report, format);
}

}  // namespace throughline::cli
