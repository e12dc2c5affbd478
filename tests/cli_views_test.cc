// Tests of the views in the `throughline` CLI (tools/cli_views.h):
//  * unit tests of the table builder (alignment, totals, CSV quoting), the
//    cells (ratios, means, money, dates), the query flags and the reports
//    built from hand-made view messages;
//  * unit tests of the decoding of CPD (protobuf) event data in the JSON of
//    `read` and `log` (tools/cli_json.h);
//  * end to end: a real server in-process on loopback with a small demo
//    trust (tools/demo.h: 2 schools, 30 staff) recorded through the CPD
//    API, and the CLI binary (THROUGHLINE_CLI_PATH) run as a subprocess for
//    every view in every format.
// The views' figures are computed, and tested, elsewhere: these tests
// assert the CLI's behaviour (exit codes, basis lines, JSON fields, CSV
// shape, consistency between formats), never the figures themselves.

#include "tools/cli_views.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/server.h"
#include "services/server_config.h"
#include "tests/auth_support.h"
#include "tests/cli_process.h"
#include "tests/test_support.h"
#include "throughline/cpd/v1/events.pb.h"
#include "throughline/cpd/v1/organisation.pb.h"
#include "throughline/cpd/v1/staff.pb.h"
#include "throughline/eventstore/v1/eventstore.pb.h"
#include "tools/cli_args.h"
#include "tools/cli_json.h"
#include "tools/demo.h"

extern char** environ;

namespace throughline {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::throughline::testing::CliProcess;
using ::throughline::testing::MintToken;
using ::throughline::testing::Result;
using ::throughline::testing::TempDir;
using Json = nlohmann::json;

namespace insights = ::throughline::insights::v1;
namespace cpd = ::throughline::cpd::v1;
using cli::Align;
using cli::Table;

// The lines of `text`, without their "\n".
std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

google::protobuf::Timestamp Ts(int y, int m, int d, int hh = 0, int mm = 0,
                               int ss = 0) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(absl::FromCivil(
      absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone())));
  return ts;
}

insights::Ratio R(int64_t numerator, int64_t denominator) {
  insights::Ratio ratio;
  ratio.set_numerator(numerator);
  ratio.set_denominator(denominator);
  return ratio;
}

// Parses RFC 4180 CSV (quoted fields may hold commas, quotes and line
// breaks) into rows of fields; records end with "\n".
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  bool any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
      continue;
    }
    any = true;
    if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      any = false;
    } else {
      field += c;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quoted field";
  EXPECT_FALSE(any) << "the last record does not end with a line break";
  return rows;
}

// ---------------------------------------------------------------------------
// The table builder.

TEST(CliViewsTableTest, AlignsColumnsAndRightAlignsNumbers) {
  Table table({{"Area"}, {"Staff", Align::kRight}, {"Share", Align::kRight}});
  table.AddRow({"questioning", "12", "3/4 (75%)"});
  table.AddRow({"behaviour", "7", "\u2013"});
  table.SetTotals({"Total", "19", ""});
  EXPECT_EQ(table.RenderText(),
            "Area         Staff      Share\n"
            "-----------  -----  ---------\n"
            "questioning     12  3/4 (75%)\n"
            "behaviour        7          \u2013\n"
            "-----------  -----  ---------\n"
            "Total           19\n");
}

TEST(CliViewsTableTest, WidthsCountCharactersNotBytes) {
  EXPECT_EQ(cli::DisplayWidth("\u2013"), 1u);
  EXPECT_EQ(cli::DisplayWidth("caf\u00e9"), 4u);
  Table table({{"Name"}, {"N", Align::kRight}});
  table.AddRow({"caf\u00e9", "1"});
  table.AddRow({"tea", "\u2013"});
  EXPECT_EQ(table.RenderText(),
            "Name  N\n"
            "----  -\n"
            "caf\u00e9  1\n"
            "tea   \u2013\n");
}

TEST(CliViewsTableTest, MissingCellsAreEmptyAndControlCharactersAreSpaces) {
  Table table({{"A"}, {"B"}, {"C", Align::kRight}});
  table.AddRow({"x"});
  table.AddRow({"two\nlines", "tab\there", "\x1b[31m"});
  table.AddRow({"\u009b2J", "caf\u00e9"});
  EXPECT_EQ(table.RenderText(),
            "A          B             C\n"
            "---------  --------  -----\n"
            "x\n"
            "two lines  tab here   [31m\n"
            " 2J        caf\u00e9\n");
}

TEST(CliViewsTableTest, AnEmptyTableSaysNone) {
  Table table({{"Session"}, {"Due"}});
  EXPECT_EQ(table.RenderText(),
            "Session  Due\n"
            "-------  ---\n"
            "(none)\n");
  EXPECT_EQ(table.RenderCsv(), "Session,Due\n");
}

TEST(CliViewsTableTest, CsvQuotesOnlyWhatNeedsQuoting) {
  EXPECT_EQ(cli::CsvField("plain text"), "plain text");
  EXPECT_EQ(cli::CsvField(""), "");
  EXPECT_EQ(cli::CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(cli::CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(cli::CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(cli::CsvField("cr\rhere"), "\"cr\rhere\"");
  EXPECT_EQ(cli::CsvField("3/4 (75%)"), "3/4 (75%)");
}

TEST(CliViewsTableTest, CsvHasTheHeaderAndRowsButNoTotals) {
  Table table({{"Title"}, {"Count", Align::kRight}, {"Note"}});
  table.AddRow({"Questioning, deeper", "3", "said \"go\""});
  table.AddRow({"two\nlines", "-1", "=SUM(A1:A9)"});
  table.AddRow({"+44 7700", "0", "@home"});
  table.SetTotals({"Total", "2", ""});
  const std::string csv = table.RenderCsv();
  EXPECT_EQ(csv,
            "Title,Count,Note\n"
            "\"Questioning, deeper\",3,\"said \"\"go\"\"\"\n"
            "\"two\nlines\",-1,'=SUM(A1:A9)\n"
            "'+44 7700,0,'@home\n");
  EXPECT_THAT(
      ParseCsv(csv),
      ElementsAre(ElementsAre("Title", "Count", "Note"),
                  ElementsAre("Questioning, deeper", "3", "said \"go\""),
                  ElementsAre("two\nlines", "-1", "'=SUM(A1:A9)"),
                  ElementsAre("'+44 7700", "0", "'@home")));
}

// ---------------------------------------------------------------------------
// Cells.

TEST(CliViewsCellsTest, RatiosShowTheCountsAndARoundedPercentage) {
  EXPECT_EQ(cli::FormatRatio(3, 4), "3/4 (75%)");
  EXPECT_EQ(cli::FormatRatio(1, 3), "1/3 (33%)");
  EXPECT_EQ(cli::FormatRatio(2, 3), "2/3 (67%)");
  EXPECT_EQ(cli::FormatRatio(1, 8), "1/8 (13%)");       // 12.5 -> 13
  EXPECT_EQ(cli::FormatRatio(5, 1000), "5/1000 (1%)");  // 0.5 -> 1
  EXPECT_EQ(cli::FormatRatio(4, 1000), "4/1000 (0%)");
  EXPECT_EQ(cli::FormatRatio(0, 7), "0/7 (0%)");
  EXPECT_EQ(cli::FormatRatio(7, 7), "7/7 (100%)");
  EXPECT_EQ(cli::FormatRatio(0, 0), "\u2013");
  EXPECT_EQ(cli::FormatRatio(R(5, 0)), "\u2013");
  EXPECT_EQ(cli::FormatRatio(R(66, 161)), "66/161 (41%)");
  // No overflow near the limits.
  EXPECT_EQ(cli::FormatPercent(INT64_MAX, INT64_MAX), "100%");
  EXPECT_EQ(cli::FormatPercent(0, 0), "\u2013");
}

TEST(CliViewsCellsTest, MeansMoneyAndSigns) {
  EXPECT_EQ(cli::FormatMean(R(10, 4)), "2.50 (10/4)");
  EXPECT_EQ(cli::FormatMean(R(2, 3)), "0.67 (2/3)");
  EXPECT_EQ(cli::FormatMean(R(1, 200)), "0.01 (1/200)");  // 0.005 -> 0.01
  EXPECT_EQ(cli::FormatMean(R(9, 3)), "3.00 (9/3)");
  EXPECT_EQ(cli::FormatMean(R(0, 0)), "\u2013");
  EXPECT_EQ(cli::FormatPounds(123456), "1234.56");
  EXPECT_EQ(cli::FormatPounds(5), "0.05");
  EXPECT_EQ(cli::FormatPounds(0), "0.00");
  EXPECT_EQ(cli::FormatPounds(-150), "-1.50");
  EXPECT_EQ(cli::FormatSigned(4), "+4");
  EXPECT_EQ(cli::FormatSigned(0), "0");
  EXPECT_EQ(cli::FormatSigned(-1), "-1");
}

TEST(CliViewsCellsTest, DatesScopesAndTheBasis) {
  EXPECT_EQ(cli::FormatDate(Ts(2025, 9, 1, 23, 59, 59)), "2025-09-01");
  EXPECT_EQ(cli::FormatDate(google::protobuf::Timestamp()), "");
  EXPECT_EQ(cli::FormatInstant(Ts(2026, 2, 1)), "2026-02-01");
  EXPECT_EQ(cli::FormatInstant(Ts(2026, 2, 1, 8, 30)), "2026-02-01T08:30:00Z");
  google::protobuf::Timestamp precise = Ts(2026, 2, 1, 8, 30);
  precise.set_nanos(250000000);
  EXPECT_EQ(cli::FormatInstant(precise), "2026-02-01T08:30:00.25Z");

  insights::ViewScope scope;
  EXPECT_EQ(cli::FormatScope(scope), "trust");
  scope.set_trust(true);
  EXPECT_EQ(cli::FormatScope(scope), "trust");
  scope.set_school_id("north");
  EXPECT_EQ(cli::FormatScope(scope), "school north");
  scope.set_department_id("north-maths");
  EXPECT_EQ(cli::FormatScope(scope), "department north-maths");

  insights::ViewBasis basis;
  *basis.mutable_scope() = scope;
  *basis.mutable_from() = Ts(2026, 1, 1);
  *basis.mutable_to() = Ts(2026, 2, 1);
  basis.set_as_of_position(1234);
  *basis.mutable_as_of_time() = Ts(2026, 2, 3, 9, 15);
  EXPECT_EQ(cli::FormatBasis(basis),
            "Basis: department north-maths; window 2026-01-01 to 2026-02-01 "
            "(exclusive); as of log position 1234, 2026-02-03T09:15:00Z");
}

// ---------------------------------------------------------------------------
// Query flags.

// `flags` parsed against the flags of the scoped views.
cli::ParsedArgs ViewArgs(const std::vector<std::string>& flags) {
  absl::StatusOr<cli::ParsedArgs> parsed =
      cli::ParseArgs(flags, cli::kViewQueryFlags);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : cli::ParsedArgs();
}

TEST(CliViewsFlagsTest, TimesAreDatesOrRfc3339) {
  absl::StatusOr<absl::Time> date =
      cli::ParseTimeOrDate("--from", "2025-09-01");
  ASSERT_TRUE(date.ok()) << date.status();
  EXPECT_EQ(*date,
            absl::FromCivil(absl::CivilDay(2025, 9, 1), absl::UTCTimeZone()));
  absl::StatusOr<absl::Time> time =
      cli::ParseTimeOrDate("--to", "2025-09-01T08:30:00+01:00");
  ASSERT_TRUE(time.ok()) << time.status();
  EXPECT_EQ(*time, absl::FromCivil(absl::CivilSecond(2025, 9, 1, 7, 30, 0),
                                   absl::UTCTimeZone()));
  ASSERT_TRUE(cli::ParseTimeOrDate("--to", "2025-09-01T08:30:00.5Z").ok());

  for (const char* bad :
       {"", "yesterday", "2025-13-01", "2025-02-30", "2025-9-1", "20250901",
        "2025-09-01 08:30:00", "2025-09-01T08:30:00", "infinite-future",
        "2025-09-01x"}) {
    absl::StatusOr<absl::Time> parsed = cli::ParseTimeOrDate("--from", bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(std::string(parsed.status().message()),
                StartsWith("--from: \""))
        << bad;
  }
}

TEST(CliViewsFlagsTest, BuildsTheQueryFromTheFlagsGiven) {
  insights::ViewQuery query;
  ASSERT_TRUE(cli::BuildViewQuery(ViewArgs({}), &query).ok());
  EXPECT_FALSE(query.has_scope());
  EXPECT_FALSE(query.has_from());
  EXPECT_FALSE(query.has_to());
  EXPECT_FALSE(query.has_as_of_time());
  EXPECT_EQ(query.as_of_position(), 0u);

  query.Clear();
  ASSERT_TRUE(cli::BuildViewQuery(
                  ViewArgs({"--school", "north", "--from", "2025-09-01", "--to",
                            "2026-01-01T12:00:00Z", "--as-of-position", "42",
                            "--as-of-time=2026-02-01", "--min-position", "40"}),
                  &query)
                  .ok());
  EXPECT_EQ(query.scope().school_id(), "north");
  EXPECT_EQ(query.from().seconds(), Ts(2025, 9, 1).seconds());
  EXPECT_EQ(query.to().seconds(), Ts(2026, 1, 1, 12).seconds());
  EXPECT_EQ(query.as_of_time().seconds(), Ts(2026, 2, 1).seconds());
  EXPECT_EQ(query.as_of_position(), 42u);
  EXPECT_EQ(query.min_position(), 40u);

  query.Clear();
  ASSERT_TRUE(
      cli::BuildViewQuery(ViewArgs({"--department", "north-maths"}), &query)
          .ok());
  EXPECT_EQ(query.scope().department_id(), "north-maths");
}

TEST(CliViewsFlagsTest, RefusesBadFlagsNamingThem) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--school", "a", "--department", "b"},
       "give --school or --department, not both"},
      {{"--school="}, "--school: empty id"},
      {{"--from", "2026-01-01", "--to", "2026-01-01"},
       "--from must be before --to"},
      {{"--from", "2026-02-01", "--to", "2026-01-01"},
       "--from must be before --to"},
      {{"--to", "soon"}, "--to: \"soon\" is not a date"},
      {{"--as-of-time", "now"}, "--as-of-time: \"now\" is not a date"},
      {{"--as-of-position", "-1"}, "--as-of-position: \"-1\" is not"},
      {{"--min-position", "x"}, "--min-position: \"x\" is not"},
  };
  for (const auto& [flags, message] : cases) {
    insights::ViewQuery query;
    absl::Status status = cli::BuildViewQuery(ViewArgs(flags), &query);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << absl::StrJoin(flags, " ");
    EXPECT_THAT(std::string(status.message()), HasSubstr(message))
        << absl::StrJoin(flags, " ");
  }
  EXPECT_EQ(*cli::ParseOutputFormat("table"), cli::OutputFormat::kTable);
  EXPECT_EQ(*cli::ParseOutputFormat("json"), cli::OutputFormat::kJson);
  EXPECT_EQ(*cli::ParseOutputFormat("csv"), cli::OutputFormat::kCsv);
  EXPECT_THAT(std::string(cli::ParseOutputFormat("CSV").status().message()),
              HasSubstr("--format: \"CSV\" is not one of table, json, csv"));
}

// ---------------------------------------------------------------------------
// Reports from hand-made views.

insights::ViewBasis SomeBasis() {
  insights::ViewBasis basis;
  basis.mutable_scope()->set_trust(true);
  *basis.mutable_from() = Ts(2026, 1, 1);
  *basis.mutable_to() = Ts(2026, 2, 1);
  basis.set_as_of_position(99);
  *basis.mutable_as_of_time() = Ts(2026, 2, 1);
  return basis;
}

// The text line of `text` starting with `prefix`; "" when none.
std::string LineStartingWith(const std::string& text,
                             const std::string& prefix) {
  for (const std::string& line : Lines(text)) {
    if (absl::StartsWith(line, prefix)) return line;
  }
  return "";
}

// The whitespace-separated words of `line`.
std::vector<std::string> Words(const std::string& line) {
  return absl::StrSplit(line, ' ', absl::SkipEmpty());
}

TEST(CliViewsReportTest, EmergentNeedsTotalsOnlyWhatAddsUp) {
  insights::EmergentNeedsView view;
  *view.mutable_basis() = SomeBasis();
  view.set_staff_in_scope(30);
  view.set_min_silos(2);
  view.set_min_uncovered_staff(3);
  view.set_min_uncovered_percent(10);
  auto add = [&](const std::string& area, int64_t walks, int64_t scope_needs,
                 int64_t sessions, int64_t trend, bool emergent) {
    insights::EmergentNeedRow* row = view.add_rows();
    row->set_area(area);
    row->set_observation_staff(4);
    row->set_staff_flagged(5);
    row->set_uncovered(4);
    row->set_learning_walks(walks);
    row->set_scope_level_needs(scope_needs);
    row->set_sessions(sessions);
    row->set_trend(trend);
    row->set_emergent(emergent);
  };
  add("questioning", 2, 1, 0, 4, true);
  add("feedback", 1, 0, 3, -1, false);

  const std::string text = cli::RenderReport(cli::EmergentNeedsReport(view),
                                             cli::OutputFormat::kTable);
  const std::vector<std::string> lines = Lines(text);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[0], "Emergent training needs");
  EXPECT_EQ(lines[1], cli::FormatBasis(view.basis()));
  EXPECT_THAT(lines[2], HasSubstr("Staff in scope: 30"));
  EXPECT_THAT(Words(LineStartingWith(text, "questioning")),
              ElementsAre("questioning", "4", "0", "0", "0", "1", "2", "0", "5",
                          "0", "4", "0", "0", "+4", "EMERGENT"));
  EXPECT_THAT(Words(LineStartingWith(text, "feedback")),
              ElementsAre("feedback", "4", "0", "0", "0", "0", "1", "0", "5",
                          "0", "4", "3", "0", "-1"));
  // Scope needs, walks and sessions add up; distinct staff and the trend
  // do not.
  EXPECT_THAT(Words(LineStartingWith(text, "Total")),
              ElementsAre("Total", "1", "3", "3", "1", "emergent"));

  // CSV: the header and one row per area, no totals.
  const std::vector<std::vector<std::string>> csv = ParseCsv(cli::RenderReport(
      cli::EmergentNeedsReport(view), cli::OutputFormat::kCsv));
  ASSERT_THAT(csv, SizeIs(3));
  EXPECT_THAT(csv[0], AllOf(SizeIs(15), ::testing::Contains("Emergent")));
  EXPECT_EQ(csv[1][0], "questioning");
  EXPECT_EQ(csv[1][14], "EMERGENT");
  EXPECT_EQ(csv[2][0], "feedback");
  EXPECT_EQ(csv[2][14], "");
}

TEST(CliViewsReportTest, FollowThroughTotalsAreTheTotalRollup) {
  insights::FollowThroughView view;
  *view.mutable_basis() = SomeBasis();
  insights::SessionFollowThrough* session = view.add_sessions();
  session->set_session_id("s1");
  session->set_title("Questioning, part 1");
  *session->mutable_held_at() = Ts(2026, 1, 10, 15, 30);
  *session->mutable_follow_up_due() = Ts(2026, 1, 24);
  session->mutable_counts()->set_pairs(4);
  session->mutable_counts()->set_on_time(1);
  session->mutable_counts()->set_late(1);
  session->mutable_counts()->set_overdue(2);
  // The total is the view's own: the CLI does not add up sessions.
  view.mutable_total()->set_sessions(7);
  view.mutable_total()->mutable_counts()->set_pairs(20);
  view.mutable_total()->mutable_counts()->set_on_time(9);
  view.mutable_total()->mutable_counts()->set_late(1);
  view.mutable_total()->mutable_counts()->set_pending(10);
  view.add_by_programme()->set_sessions(1);  // One-off: key "".
  view.set_sessions_held(8);
  *view.mutable_one_off_share() = R(1, 8);
  *view.mutable_no_follow_up_share() = R(0, 8);

  const std::string text = cli::RenderReport(cli::FollowThroughReport(view),
                                             cli::OutputFormat::kTable);
  EXPECT_THAT(text, HasSubstr("Sessions held: 8; one-off (no programme): "
                              "1/8 (13%); no follow-up planned: 0/8 (0%)."));
  EXPECT_THAT(
      Words(LineStartingWith(text, "s1 ")),
      ElementsAre("s1", "Questioning,", "part", "1", "(one-off)", "2026-01-10",
                  "2026-01-24", "4", "1", "1", "2", "0", "2/4", "(50%)"));
  EXPECT_THAT(Words(LineStartingWith(text, "Total")),
              ElementsAre("Total", "7", "sessions", "20", "9", "1", "0", "10",
                          "10/20", "(50%)"));
  for (const char* title : {"Sessions with follow-up due", "By programme",
                            "By school", "By department"}) {
    EXPECT_THAT(Lines(text), ::testing::Contains(title));
  }
  // CSV: the sessions only.
  const auto csv = ParseCsv(cli::RenderReport(cli::FollowThroughReport(view),
                                              cli::OutputFormat::kCsv));
  ASSERT_THAT(csv, SizeIs(2));
  EXPECT_EQ(csv[0][0], "Session");
  EXPECT_EQ(csv[1][1], "Questioning, part 1");
}

TEST(CliViewsReportTest, MoneyTotalsAreTheViewsFields) {
  insights::TimeAndMoneyView view;
  *view.mutable_basis() = SomeBasis();
  view.set_spend_pence(30000);
  view.set_minutes_held(600);
  // A spend on two areas counts in full under each: rows add up to more.
  for (const char* area : {"behaviour", "questioning"}) {
    insights::Amount* amount = view.add_spend_by_area();
    amount->set_key(area);
    amount->set_pence(30000);
    amount->set_minutes(600);
  }
  *view.mutable_spend_serving_no_priority() = R(1000, 30000);
  *view.mutable_cost_per_evidenced_follow_up() = R(30000, 7);
  const std::string text = cli::RenderReport(cli::TimeAndMoneyReport(view),
                                             cli::OutputFormat::kTable);
  EXPECT_THAT(Words(LineStartingWith(text, "Total")),
              ElementsAre("Total", "300.00", "600"));
  EXPECT_THAT(text, HasSubstr("spend 10.00/300.00 (3%)"));
  EXPECT_THAT(text, HasSubstr("cost per evidenced follow-up 42.86 (300.00 / 7 "
                              "follow-ups)"));
  EXPECT_THAT(text, HasSubstr("minutes \u2013;"));  // No minutes: no data.
}

TEST(CliViewsReportTest, StaffRecordCsvIsTheTimeline) {
  insights::StaffRecordView view;
  *view.mutable_basis() = SomeBasis();
  view.set_staff_id("s1");
  view.mutable_personal()->set_display_name("Ada");
  *view.mutable_joined_at() = Ts(2025, 9, 1);
  view.add_placements()->set_school_id("north");
  insights::TimelineEntry* entry = view.add_timeline();
  *entry->mutable_occurred_at() = Ts(2025, 9, 10);
  entry->set_position(16);
  entry->set_type("ObservationRecorded");
  entry->set_summary("Drop-in observation: 2 points (questioning, feedback)");
  view.add_outstanding_follow_ups()->set_overdue(true);

  const std::string text = cli::RenderReport(cli::StaffRecordReport(view),
                                             cli::OutputFormat::kTable);
  EXPECT_THAT(text, StartsWith("Staff record: s1\nBasis: the whole record as "
                               "of log position 99, 2026-02-01\n"));
  EXPECT_THAT(text, HasSubstr("Joined 2025-09-01; still a member"));
  for (const char* title :
       {"Placements", "Timeline", "Open goals", "Outstanding follow-ups"}) {
    EXPECT_THAT(Lines(text), ::testing::Contains(title));
  }
  EXPECT_THAT(text, HasSubstr("OVERDUE"));
  const auto csv = ParseCsv(
      cli::RenderReport(cli::StaffRecordReport(view), cli::OutputFormat::kCsv));
  ASSERT_THAT(csv, SizeIs(2));
  EXPECT_EQ(csv[0][0], "Date");
  EXPECT_EQ(csv[1][2], "ObservationRecorded");
  EXPECT_EQ(csv[1][6], "Drop-in observation: 2 points (questioning, feedback)");
}

TEST(CliViewsReportTest, DecisionsListTheirReplayedEvidence) {
  insights::DecisionAuditView view;
  *view.mutable_basis() = SomeBasis();
  insights::AuditedDecision* decision = view.add_decisions();
  decision->set_decision_id("d1");
  decision->set_decision("Launch a questioning programme");
  decision->set_rationale("Flagged everywhere");
  insights::ReplayedEvidence* replayed = decision->add_evidence();
  replayed->set_view("emergent-needs");
  (*replayed->mutable_parameters())["scope"] = "trust";
  replayed->set_log_position(50);
  insights::EmergentNeedRow* row =
      replayed->mutable_emergent_needs_then()->add_rows();
  row->set_area("questioning");
  row->set_emergent(true);
  replayed->mutable_emergent_needs_now()->add_rows()->set_area("questioning");
  insights::ReplayedEvidence* records = decision->add_evidence();
  records->add_record_ids("o1");
  records->set_not_replayed_reason("a reference to records, not to a view");

  const std::string text = cli::RenderReport(cli::DecisionAuditReport(view),
                                             cli::OutputFormat::kTable);
  EXPECT_THAT(Lines(text),
              ::testing::Contains("Decision d1: evidence replayed"));
  EXPECT_THAT(text, HasSubstr("Rationale: Flagged everywhere"));
  EXPECT_THAT(LineStartingWith(text, "emergent-needs"),
              AllOf(HasSubstr("scope=trust"), HasSubstr("50"),
                    HasSubstr("1 emergent: questioning"),
                    HasSubstr("no area emergent")));
  EXPECT_THAT(LineStartingWith(text, "(records)"),
              HasSubstr("not replayed: a reference to records"));
  const auto csv = ParseCsv(cli::RenderReport(cli::DecisionAuditReport(view),
                                              cli::OutputFormat::kCsv));
  ASSERT_THAT(csv, SizeIs(2));
  EXPECT_EQ(csv[1][2], "d1");
}

TEST(CliViewsReportTest, FormatViewPicksTheReportByType) {
  insights::ProgrammeDesignView view;
  *view.mutable_basis() = SomeBasis();
  absl::StatusOr<std::string> table =
      cli::FormatView(view, cli::OutputFormat::kTable);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(*table, StartsWith("Programme design\nBasis: trust;"));
  absl::StatusOr<std::string> json =
      cli::FormatView(view, cli::OutputFormat::kJson);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(Lines(*json), SizeIs(1));
  EXPECT_EQ(Json::parse(*json)["basis"]["as_of_position"], "99");
  EXPECT_FALSE(
      cli::FormatView(insights::Ratio(), cli::OutputFormat::kTable).ok());
}

// ---------------------------------------------------------------------------
// CPD event data in `read` and `log`.

TEST(CliJsonProtobufTest, ReadsTheMessageNameOfAProtobufContentType) {
  EXPECT_EQ(cli::ProtobufContentTypeMessage(
                "application/x-protobuf; proto=throughline.cpd.v1.SchoolAdded"),
            "throughline.cpd.v1.SchoolAdded");
  EXPECT_EQ(cli::ProtobufContentTypeMessage(
                "Application/Protobuf ;charset=x; Proto=\"a.B\""),
            "a.B");
  EXPECT_EQ(cli::ProtobufContentTypeMessage("application/x-protobuf"),
            std::nullopt);
  EXPECT_EQ(cli::ProtobufContentTypeMessage("application/x-protobuf; proto="),
            std::nullopt);
  EXPECT_EQ(cli::ProtobufContentTypeMessage("application/json; proto=a.B"),
            std::nullopt);
}

TEST(CliJsonProtobufTest, ShowsCpdEventDataAsTheMessage) {
  cpd::StaffMemberJoined joined;
  joined.set_staff_id("t1");
  joined.set_school_id("north");
  joined.add_department_ids("north-maths");
  joined.set_role(cpd::STAFF_ROLE_TEACHER);
  joined.mutable_personal()->set_display_name("Ada");

  eventstore::v1::ReadStreamResponse response;
  auto* good = response.add_events();
  good->set_content_type(
      "application/x-protobuf; proto=throughline.cpd.v1.StaffMemberJoined");
  good->set_data(joined.SerializeAsString());
  auto* unknown = response.add_events();
  unknown->set_content_type(
      "application/x-protobuf; proto=throughline.cpd.v1.NoSuchEvent");
  unknown->set_data(joined.SerializeAsString());
  auto* garbage = response.add_events();
  garbage->set_content_type(
      "application/x-protobuf; proto=throughline.cpd.v1.StaffMemberJoined");
  garbage->set_data(std::string("\xff\xff\xff", 3));

  absl::StatusOr<std::string> line = cli::MessageToJsonLine(response);
  ASSERT_TRUE(line.ok()) << line.status();
  Json json = Json::parse(*line);
  const Json& data = json["events"][0]["data"];
  ASSERT_TRUE(data.is_object()) << data;
  EXPECT_EQ(data["staff_id"], "t1");
  EXPECT_EQ(data["department_ids"], Json::array({"north-maths"}));
  EXPECT_EQ(data["role"], "STAFF_ROLE_TEACHER");
  EXPECT_EQ(data["personal"]["display_name"], "Ada");
  EXPECT_EQ(data["line_manager_id"], "");  // Defaults included.
  // What cannot be decoded stays as base64.
  EXPECT_EQ(json["events"][1]["data"],
            absl::Base64Escape(joined.SerializeAsString()));
  EXPECT_EQ(json["events"][2]["data"],
            absl::Base64Escape(std::string("\xff\xff\xff", 3)));
}

// ---------------------------------------------------------------------------
// End to end: the CLI binary against a server with a demo trust.

constexpr char kTenant[] = "demo-trust";

// A view command and what its output must show.
struct ViewCase {
  std::string command;                   // "needs", "staff", ...
  std::string title;                     // The first line of its table.
  std::vector<std::string> json_fields;  // Top-level fields of its JSON.
  std::string csv_first_header;          // The first column of its CSV.
};

const std::vector<ViewCase>& ViewCases() {
  static const auto* cases = new std::vector<ViewCase>{
      {"needs",
       "Emergent training needs",
       {"basis", "staff_in_scope", "min_silos", "min_uncovered_staff",
        "min_uncovered_percent", "rows"},
       "Area"},
      {"follow-through",
       "Follow-through",
       {"basis", "sessions", "by_programme", "by_department", "by_school",
        "total", "sessions_held", "one_off_share", "no_follow_up_share"},
       "Session"},
      {"staff",
       "Staff record: ",
       {"basis", "staff_id", "personal", "joined_at", "placements", "timeline",
        "open_goals", "latest_development_points", "sessions_attended",
        "outstanding_follow_ups"},
       "Date"},
      {"dots",
       "Connecting the dots",
       {"basis", "responded", "by_school", "by_department", "unanswered",
        "awaiting"},
       "Level"},
      {"money",
       "Time and money",
       {"basis", "minutes_allocated", "minutes_held", "minutes_repurposed",
        "budget_pence", "spend_pence", "spend_by_area", "spend_by_programme",
        "by_priority", "minutes_serving_no_priority",
        "spend_serving_no_priority", "cost_per_evidenced_follow_up"},
       "Area"},
      {"impact", "Impact", {"basis", "areas"}, "Area"},
      {"decisions", "Decision audit", {"basis", "decisions"}, "Decided"},
      {"programmes",
       "Programme design",
       {"basis", "programmes", "one_off_sessions", "one_off_session_ids"},
       "Programme"},
  };
  return *cases;
}

class CliViewsEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    services::ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.data_dir = dir_.path() + "/data";
    absl::StatusOr<std::unique_ptr<services::Server>> server =
        services::Server::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    address_ = absl::StrCat("127.0.0.1:", server_->port());

    cli::DemoOptions options;
    options.schools = 2;
    options.staff = 30;
    options.now = absl::Now();
    absl::StatusOr<cli::DemoPlan> plan = cli::GenerateDemo(options);
    ASSERT_TRUE(plan.ok()) << plan.status();
    plan_ = *std::move(plan);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    token_ = MintToken(server_->auth_store(), kTenant);
    const cli::DemoOutcome outcome =
        cli::SendDemo(channel, plan_, {token_, "", ""}, absl::Seconds(30));
    ASSERT_FALSE(outcome.failed_call.has_value())
        << outcome.failure.error_message();
    for (const cli::DemoCall& call : plan_.calls) {
      if (auto* joined = dynamic_cast<const cpd::RecordStaffJoinedRequest*>(
              call.request.get())) {
        if (staff_id_.empty()) staff_id_ = joined->joined().staff_id();
      } else if (auto* school = dynamic_cast<const cpd::AddSchoolRequest*>(
                     call.request.get())) {
        if (school_id_.empty()) school_id_ = school->school().school_id();
      } else if (auto* department =
                     dynamic_cast<const cpd::AddDepartmentRequest*>(
                         call.request.get())) {
        if (department_id_.empty()) {
          department_id_ = department->department().department_id();
        }
      }
    }
    ASSERT_FALSE(staff_id_.empty());
    ASSERT_FALSE(school_id_.empty());
    ASSERT_FALSE(department_id_.empty());
  }

  // The CLI's arguments for the trust: server and tenant first.
  std::vector<std::string> Args(std::vector<std::string> args) const {
    args.insert(args.begin(),
                {"--server=" + address_, absl::StrCat("--tenant=", kTenant),
                 "--token=" + token_});
    return args;
  }

  Result Run(const std::vector<std::string>& args) const {
    CliProcess process(Args(args), {}, "");
    return process.Wait();
  }

  // The arguments of `view` over the demo year (so that every view has
  // something to show), plus `more`.
  std::vector<std::string> ViewArgs(const ViewCase& view,
                                    std::vector<std::string> more = {}) const {
    std::vector<std::string> args = {view.command};
    if (view.command == "staff") {
      args.push_back(staff_id_);
    } else {
      Append(&args, {"--from", Date(plan_.registered_at), "--to",
                     Date(plan_.registered_at + absl::Hours(24 * 300))});
    }
    Append(&args, std::move(more));
    return args;
  }

  static void Append(std::vector<std::string>* to,
                     std::vector<std::string> more) {
    to->insert(to->end(), more.begin(), more.end());
  }

  static std::string Date(absl::Time time) {
    return absl::FormatTime("%Y-%m-%d", time, absl::UTCTimeZone());
  }

  TempDir dir_;
  std::unique_ptr<services::Server> server_;
  std::string address_;
  std::string token_;
  cli::DemoPlan plan_;
  std::string staff_id_, school_id_, department_id_;
};

TEST_F(CliViewsEndToEndTest, EveryViewPrintsTablesWithItsBasis) {
  for (const ViewCase& view : ViewCases()) {
    SCOPED_TRACE(view.command);
    Result result = Run(ViewArgs(view));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_THAT(result.err, IsEmpty());
    const std::vector<std::string> lines = Lines(result.out);
    ASSERT_GE(lines.size(), 3u);
    EXPECT_THAT(lines[0], StartsWith(view.title));
    EXPECT_THAT(lines[1], StartsWith("Basis: "));
    EXPECT_THAT(lines[1], HasSubstr(absl::StrCat("as of log position ",
                                                 plan_.expected_head, ", ")));
    if (view.command != "staff") {
      EXPECT_THAT(lines[1],
                  HasSubstr(absl::StrCat(
                      "Basis: trust; window ", Date(plan_.registered_at),
                      " to ", Date(plan_.registered_at + absl::Hours(24 * 300)),
                      " (exclusive)")));
    }
    // Every table has a header and a rule of dashes under it.
    bool rule = false;
    for (const std::string& line : lines) {
      if (absl::StartsWith(line, "---")) rule = true;
    }
    EXPECT_TRUE(rule) << result.out;
  }
}

TEST_F(CliViewsEndToEndTest, EveryViewPrintsItsMessageAsJson) {
  for (const ViewCase& view : ViewCases()) {
    SCOPED_TRACE(view.command);
    Result result = Run(ViewArgs(view, {"--format", "json"}));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    ASSERT_THAT(Lines(result.out), SizeIs(1));
    Json json = Json::parse(result.out, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(json.is_discarded()) << result.out;
    for (const std::string& field : view.json_fields) {
      EXPECT_TRUE(json.contains(field)) << field;
    }
    EXPECT_EQ(json["basis"]["as_of_position"],
              absl::StrCat(plan_.expected_head));
  }
}

TEST_F(CliViewsEndToEndTest, EveryViewPrintsCsvThatASpreadsheetCanOpen) {
  for (const ViewCase& view : ViewCases()) {
    SCOPED_TRACE(view.command);
    Result result = Run(ViewArgs(view, {"--format=csv"}));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const std::vector<std::vector<std::string>> rows = ParseCsv(result.out);
    ASSERT_GE(rows.size(), 1u);
    EXPECT_EQ(rows[0][0], view.csv_first_header);
    for (const std::vector<std::string>& row : rows) {
      EXPECT_EQ(row.size(), rows[0].size()) << absl::StrJoin(row, "|");
    }
    // No basis, titles or totals: a header row, then data rows.
    EXPECT_THAT(result.out, Not(HasSubstr("Basis:")));
    for (size_t i = 1; i < rows.size(); ++i) {
      EXPECT_NE(rows[i][0], "Total");
    }
  }
}

TEST_F(CliViewsEndToEndTest, TheFormatsShowTheSameRows) {
  // The emergent needs: one row per active area in each format.
  const ViewCase& needs = ViewCases()[0];
  Result json = Run(ViewArgs(needs, {"--format", "json"}));
  Result csv = Run(ViewArgs(needs, {"--format", "csv"}));
  Result table = Run(ViewArgs(needs));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const Json rows = Json::parse(json.out)["rows"];
  ASSERT_FALSE(rows.empty());
  const std::vector<std::vector<std::string>> csv_rows = ParseCsv(csv.out);
  ASSERT_EQ(csv_rows.size(), rows.size() + 1);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(csv_rows[i + 1][0], rows[i]["area"].get<std::string>());
    EXPECT_EQ(csv_rows[i + 1].back(),
              rows[i]["emergent"].get<bool>() ? "EMERGENT" : "");
    EXPECT_THAT(
        LineStartingWith(table.out, rows[i]["area"].get<std::string>() + " "),
        Not(IsEmpty()));
  }
  EXPECT_THAT(LineStartingWith(table.out, "Total"), Not(IsEmpty()));
}

TEST_F(CliViewsEndToEndTest, ScopeAndAsOfFlagsReachTheBasis) {
  Result school = Run({"dots", "--school", school_id_});
  ASSERT_EQ(school.exit_code, 0) << school.err;
  EXPECT_THAT(Lines(school.out)[1],
              StartsWith(absl::StrCat("Basis: school ", school_id_, ";")));
  Result department =
      Run({"needs", "--department", department_id_, "--format", "json"});
  ASSERT_EQ(department.exit_code, 0) << department.err;
  EXPECT_EQ(Json::parse(department.out)["basis"]["scope"]["department_id"],
            department_id_);
  const std::string as_of_time = absl::FormatTime(
      "%Y-%m-%dT%H:%M:%SZ", plan_.registered_at + absl::Hours(24 * 100 + 12),
      absl::UTCTimeZone());
  Result as_of =
      Run({"programmes", "--as-of-position", "20", "--as-of-time", as_of_time});
  ASSERT_EQ(as_of.exit_code, 0) << as_of.err;
  EXPECT_THAT(Lines(as_of.out)[1],
              HasSubstr(absl::StrCat("as of log position 20, ", as_of_time)));
  Result waited =
      Run({"money", "--min-position", absl::StrCat(plan_.expected_head)});
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
}

TEST_F(CliViewsEndToEndTest, WatchPrintsATableAndAgainOnChange) {
  CliProcess watch(Args({"needs", "--watch"}), {}, "");
  std::optional<std::string> title = watch.ReadLine();
  ASSERT_TRUE(title.has_value());
  EXPECT_EQ(*title, "Emergent training needs");
  std::optional<std::string> basis = watch.ReadLine();
  ASSERT_TRUE(basis.has_value());
  EXPECT_THAT(*basis, StartsWith("Basis: trust; window "));
  // The rest of the first table, up to its totals.
  for (std::optional<std::string> line = watch.ReadLine();;
       line = watch.ReadLine()) {
    ASSERT_TRUE(line.has_value()) << "no totals row";
    if (absl::StartsWith(*line, "Total")) break;
  }
  // A learning walk recorded now changes the view: it is printed again.
  Result walk =
      Run({"record", "RecordLearningWalk", "walk.walk_id=w-watch",
           absl::StrCat("walk.school_id=", school_id_),
           "walk.development_points=questioning", "walk.lessons_seen=4"});
  ASSERT_EQ(walk.exit_code, 0) << walk.err;
  for (std::optional<std::string> line = watch.ReadLine();;
       line = watch.ReadLine()) {
    ASSERT_TRUE(line.has_value()) << "no second table";
    if (*line == "Emergent training needs") break;
  }
  watch.Signal(SIGINT);
  Result result = watch.Wait();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, IsEmpty());
}

TEST_F(CliViewsEndToEndTest, WatchAsOfAPositionPrintsOnceAsJson) {
  // A view as of a fixed position never changes: the stream ends.
  Result result =
      Run({"needs", "--watch", "--format", "json", "--as-of-position", "30"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_THAT(Lines(result.out), SizeIs(1));
  EXPECT_EQ(Json::parse(result.out)["basis"]["as_of_position"], "30");
}

TEST_F(CliViewsEndToEndTest, ViewsStatusAndRebuild) {
  Result status = Run({"views", "status", "--format", "json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  Json json = Json::parse(status.out);
  EXPECT_EQ(json["head"], absl::StrCat(plan_.expected_head));
  for (const char* field : {"position", "lag", "rebuilding", "version"}) {
    EXPECT_TRUE(json.contains(field)) << field;
  }
  Result table = Run({"views", "status"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, StartsWith("Views\n"));
  EXPECT_THAT(table.out, HasSubstr("Position  Head"));

  Result rebuild = Run({"views", "rebuild", "--format", "json"});
  ASSERT_EQ(rebuild.exit_code, 0) << rebuild.err;
  EXPECT_EQ(Json::parse(rebuild.out)["head"],
            absl::StrCat(plan_.expected_head));
  // Queries wait for the rebuild (within their deadline).
  Result needs = Run({"needs", "--timeout", "60"});
  EXPECT_EQ(needs.exit_code, 0) << needs.err;
}

TEST_F(CliViewsEndToEndTest, AnUnknownStaffMemberIsNotFound) {
  Result result = Run({"staff", "nobody-here"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, StartsWith("throughline: NOT_FOUND: "));
  EXPECT_THAT(result.out, IsEmpty());
  Result school = Run({"needs", "--school", "atlantis"});
  EXPECT_EQ(school.exit_code, 1);
  EXPECT_THAT(school.err, StartsWith("throughline: NOT_FOUND: "));
}

TEST_F(CliViewsEndToEndTest, BadFlagsAreUsageErrors) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"needs", "--format", "xml"},
           {"money", "--format=CSV"},
           {"staff", "x", "--format", "yaml"},
           {"views", "status", "--format", "html"},
           {"needs", "--from", "2025-13-01"},
           {"dots", "--to", "yesterday"},
           {"impact", "--as-of-time", "2025-02-30"},
           {"programmes", "--from", "2026-02-01", "--to", "2026-01-01"},
           {"decisions", "--as-of-position", "-3"},
           {"follow-through", "--school", "a", "--department", "b"},
           {"needs", "extra"},
           {"needs", "--watch", "--format", "csv"},
           {"staff"},
           {"staff", "a", "b"},
           {"staff", "a", "--school", "north"},
           {"views"},
           {"views", "frobnicate"},
           {"views", "status", "--school", "north"},
       }) {
    Result result = Run(args);
    EXPECT_EQ(result.exit_code, 2) << absl::StrJoin(args, " ");
    EXPECT_THAT(result.err, StartsWith("throughline: "))
        << absl::StrJoin(args, " ");
    EXPECT_THAT(result.out, IsEmpty()) << absl::StrJoin(args, " ");
  }
}

TEST_F(CliViewsEndToEndTest, ReadAndLogShowCpdEventsAsMessages) {
  Result log = Run({"log", "--count", "20"});
  ASSERT_EQ(log.exit_code, 0) << log.err;
  const std::vector<std::string> lines = Lines(log.out);
  ASSERT_THAT(lines, SizeIs(20));
  for (const std::string& line : lines) {
    Json event = Json::parse(line);
    EXPECT_THAT(event["content_type"].get<std::string>(),
                StartsWith("application/x-protobuf; proto=throughline.cpd."));
    EXPECT_TRUE(event["data"].is_object()) << line;
  }
  Result read =
      Run({"read", absl::StrCat("staff-", staff_id_), "--count", "1"});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  Json joined = Json::parse(read.out);
  EXPECT_EQ(joined["type"], "StaffMemberJoined");
  EXPECT_EQ(joined["data"]["staff_id"], staff_id_);
}

TEST_F(CliViewsEndToEndTest, HelpListsTheViews) {
  Result result = Run({"help"});
  ASSERT_EQ(result.exit_code, 0);
  for (const char* word : {"needs",          "--watch",
                           "follow-through", "staff STAFF_ID",
                           "dots",           "money",
                           "impact",         "decisions",
                           "programmes",     "views status",
                           "views rebuild",  "--school",
                           "--department",   "--from",
                           "--to",           "--as-of-position",
                           "--as-of-time",   "--min-position",
                           "--format",       "table",
                           "json",           "csv",
                           "main table"}) {
    EXPECT_THAT(result.out, HasSubstr(word));
  }
}

}  // namespace
}  // namespace throughline
