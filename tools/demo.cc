#include "tools/demo.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "google/protobuf/timestamp.pb.h"
#include "throughline/cpd/v1/appraisal.pb.h"
#include "throughline/cpd/v1/coaching.pb.h"
#include "throughline/cpd/v1/observation.pb.h"
#include "throughline/cpd/v1/organisation.pb.h"
#include "throughline/cpd/v1/planning.pb.h"
#include "throughline/cpd/v1/programme.pb.h"
#include "throughline/cpd/v1/staff.pb.h"

namespace throughline::cli {
namespace {

namespace v1 = ::throughline::cpd::v1;

// RegisterTrust appends TrustRegistered and the default taxonomy's areas
// (docs/taxonomy.md); every other RPC appends one event.
constexpr uint64_t kDefaultTaxonomySize = 12;

constexpr int kMinStaffPerSchool = 12;
constexpr int kMaxSchools = 8;
constexpr int kMaxStaff = 2000;
// Most attendees the server accepts on one session (its list limit,
// services/cpd/checks.h).
constexpr size_t kMaxSessionAttendees = 500;

// Platforms, one per silo, as the source-platform metadata.
constexpr char kMis[] = "school-mis";
constexpr char kObservationApp[] = "observation-app";
constexpr char kCoachingApp[] = "coaching-app";
constexpr char kHrSystem[] = "hr-appraisal";
constexpr char kCpdPlatform[] = "cpd-booking";
constexpr char kPlanningTool[] = "improvement-planner";

// The area every silo keeps flagging and no session covers.
constexpr char kEmergentArea[] = "questioning";

// ---------------------------------------------------------------------------
// Deterministic randomness: only mt19937_64's raw output, whose sequence the
// C++ standard fixes, so a seed gives the same plan with any library.

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, n); n > 0.
  size_t Below(size_t n) { return static_cast<size_t>(engine_() % n); }
  int Between(int lo, int hi) {
    return lo + static_cast<int>(Below(static_cast<size_t>(hi - lo + 1)));
  }
  bool Chance(double p) {
    return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p;
  }
  template <typename T>
  const T& Pick(absl::Span<const T> items) {
    return items[Below(items.size())];
  }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Below(items.size())];
  }
  template <typename T>
  void Shuffle(std::vector<T>* items) {
    for (size_t i = items->size(); i > 1; --i) {
      std::swap((*items)[i - 1], (*items)[Below(i)]);
    }
  }

 private:
  std::mt19937_64 engine_;
};

// ---------------------------------------------------------------------------
// Synthetic vocabulary.

constexpr const char* kFirstNames[] = {
    "Amara",  "Ben",   "Chloe",  "Dev",    "Ella",   "Farah",  "George",
    "Hana",   "Isaac", "Jess",   "Kofi",   "Lena",   "Marcus", "Nadia",
    "Owen",   "Priya", "Quinn",  "Rosa",   "Sam",    "Tariq",  "Uma",
    "Victor", "Wren",  "Xavier", "Yasmin", "Zac",    "Aisha",  "Callum",
    "Delia",  "Ewan",  "Freya",  "Gus",    "Imogen", "Jonah",  "Keira",
    "Luca",   "Maya",  "Niall",  "Orla",   "Rhys"};
constexpr const char* kLastNames[] = {
    "Ashby",    "Brennan",   "Carver",   "Dunmore", "Ellery",    "Fairlie",
    "Garside",  "Holloway",  "Ingram",   "Jessop",  "Kirkby",    "Lindqvist",
    "Marlow",   "Nuttall",   "Okonjo",   "Pennock", "Quarrie",   "Rowntree",
    "Sedgwick", "Thackray",  "Umber",    "Varley",  "Whitlock",  "Yardley",
    "Zeller",   "Akande",    "Bramley",  "Cheung",  "Desai",     "Esterhuizen",
    "Fenwick",  "Gallagher", "Hussain",  "Iqbal",   "Jankowski", "Kowalczyk",
    "Lowther",  "Mbeki",     "Nakamura", "Ollerton"};

constexpr const char* kTrustWords[][2] = {
    {"Kestrel", "Learning Trust"},      {"Three Rivers", "Academy Trust"},
    {"Harbourside", "Education Trust"}, {"Millstone", "Schools Partnership"},
    {"Larkspur", "Learning Trust"},     {"Greenway", "Multi-Academy Trust"}};

struct SchoolTemplate {
  const char* id;
  const char* name;
  bool primary;
};
constexpr SchoolTemplate kSchools[kMaxSchools] = {
    {"northfield", "Northfield Academy", false},
    {"riverside", "Riverside Primary School", true},
    {"hillcrest", "Hillcrest High School", false},
    {"meadowbank", "Meadowbank Primary", true},
    {"oakwood", "Oakwood Academy", false},
    {"brookside", "Brookside Primary", true},
    {"ashgrove", "Ashgrove College", false},
    {"elmfield", "Elmfield Junior School", true}};

struct DepartmentTemplate {
  const char* code;
  const char* name;
};
constexpr DepartmentTemplate kSecondaryDepartments[] = {
    {"maths", "Mathematics"},
    {"english", "English"},
    {"science", "Science"},
    {"humanities", "Humanities"}};
constexpr DepartmentTemplate kPrimaryDepartments[] = {
    {"early-years", "Early years"},
    {"key-stage-1", "Key stage 1"},
    {"key-stage-2", "Key stage 2"}};

// Areas an observer may praise.
constexpr const char* kStrengthAreas[] = {"behaviour",
                                          "subject-knowledge",
                                          "explanation-and-modelling",
                                          "curriculum-sequencing",
                                          "literacy",
                                          "retrieval-practice",
                                          "feedback",
                                          "adaptive-teaching"};
// Occasional development points outside anyone's CPD: background noise.
constexpr const char* kNoiseAreas[] = {
    "explanation-and-modelling", "subject-knowledge", "curriculum-sequencing"};

constexpr const char* kRepurposeReasons[] = {
    "Parents' evening preparation", "Report writing",
    "Mock exam moderation",         "Inspection preparation briefing",
    "Data drop analysis",           "Trip risk assessments"};

std::string Label(absl::string_view area) {
  std::string label(area);
  std::replace(label.begin(), label.end(), '-', ' ');
  return label;
}

// ---------------------------------------------------------------------------
// The school year: six half-terms of weekdays from September to late June.

struct HalfTerm {
  int from_month, from_day, to_month, to_day;
};
constexpr HalfTerm kHalfTerms[] = {{9, 1, 10, 23}, {11, 2, 12, 18},
                                   {1, 5, 2, 13},  {2, 23, 3, 27},
                                   {4, 13, 5, 22}, {6, 1, 6, 26}};
constexpr int kHalfTermCount = 6;

void SetTime(absl::Time t, google::protobuf::Timestamp* timestamp) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(0);
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

// ---------------------------------------------------------------------------
// The trust's people and places, as the generator tracks them.

struct Placement {
  absl::Time from;
  int school = 0;
  std::vector<std::string> departments;
  v1::StaffRole role = v1::STAFF_ROLE_TEACHER;
  int manager = -1;  // Index of the line manager; -1 for none.
};

struct Person {
  std::string id;
  std::string first, last;
  std::vector<Placement> placements;  // The first is how they joined.
  std::optional<absl::Time> left;
  bool questioning = false;  // Prone to questioning development points.
  // Areas of the sessions they attend, with when.
  std::vector<std::pair<absl::Time, std::string>> attended;
  std::set<std::string> covered;
};

struct Department {
  std::string id, code, name;
  int head = -1;  // The middle leader running it.
};

struct School {
  std::string id, name;
  bool primary = false;
  std::vector<Department> departments;
  int head = -1;
  std::vector<int> senior;  // Senior leaders other than the head.
  std::string priority_area;
};

struct Session {
  std::string id;
  std::string programme_id;
  std::vector<std::string> areas;
  absl::Time held;
  std::optional<absl::Time> due;
  std::vector<int> attendees;
  bool follow_up_mechanisms = false;
};

// A call before ordering.
struct Pending {
  absl::Time at;
  std::string rpc;
  std::unique_ptr<google::protobuf::Message> request;
  std::string platform;
  // Called with the log head before this call, for evidence references.
  std::function<void(uint64_t)> at_head;
};

class Generator {
 public:
  explicit Generator(const DemoOptions& options)
      : options_(options), rng_(options.seed ^ 0x7468726f7567686cULL) {}

  absl::StatusOr<DemoPlan> Run();

 private:
  // Time helpers.
  absl::Time At(absl::CivilDay day, int hour, int minute) const {
    return absl::FromCivil(
        absl::CivilSecond(day.year(), day.month(), day.day(), hour, minute, 0),
        absl::UTCTimeZone());
  }
  absl::CivilDay DayOf(absl::Time t) const {
    return absl::ToCivilDay(t, absl::UTCTimeZone());
  }
  absl::CivilDay RandomDay(int half_term, size_t skip_first = 0,
                           size_t limit = SIZE_MAX) {
    const std::vector<absl::CivilDay>& days = half_terms_[half_term];
    const size_t first = std::min(skip_first, days.size() - 1);
    const size_t last = std::min(days.size(), limit);
    return days[first + rng_.Below(last > first ? last - first : 1)];
  }
  // A school day in [from, to], or nullopt.
  std::optional<absl::CivilDay> RandomDayBetween(absl::CivilDay from,
                                                 absl::CivilDay to) {
    std::vector<absl::CivilDay> days;
    for (const absl::CivilDay& day : school_days_) {
      if (day >= from && day <= to) days.push_back(day);
    }
    if (days.empty()) return std::nullopt;
    return rng_.Pick(days);
  }
  // The n-th school day after `day` (n >= 1), if the year has it.
  std::optional<absl::CivilDay> SchoolDaysAfter(absl::CivilDay day, int n) {
    auto it = std::upper_bound(school_days_.begin(), school_days_.end(), day);
    if (school_days_.end() - it < n) return std::nullopt;
    return *(it + (n - 1));
  }
  absl::Time LessonTime(absl::CivilDay day) {
    const int minutes = 8 * 60 + 45 + 5 * static_cast<int>(rng_.Below(76));
    return At(day, minutes / 60, minutes % 60);
  }
  // How far through the year `t` is, 0 to 1.
  double YearFraction(absl::Time t) const {
    return std::clamp(
        absl::FDivDuration(t - registered_, year_end_ - registered_), 0.0, 1.0);
  }

  // People.
  const Placement& PlacementAt(const Person& person, absl::Time t) const {
    const Placement* current = &person.placements.front();
    for (const Placement& placement : person.placements) {
      if (placement.from <= t) current = &placement;
    }
    return *current;
  }
  bool Active(int index, absl::Time t) const {
    const Person& person = people_[index];
    return person.placements.front().from <= t &&
           (!person.left.has_value() || t < *person.left);
  }
  static bool Teaches(v1::StaffRole role) {
    return role == v1::STAFF_ROLE_TEACHER ||
           role == v1::STAFF_ROLE_EARLY_CAREER_TEACHER ||
           role == v1::STAFF_ROLE_MIDDLE_LEADER;
  }
  // Staff of `school` active at `t` whose role passes `keep`.
  std::vector<int> Members(int school, absl::Time t,
                           const std::function<bool(v1::StaffRole)>& keep) {
    std::vector<int> result;
    for (size_t i = 0; i < people_.size(); ++i) {
      const int index = static_cast<int>(i);
      if (!Active(index, t)) continue;
      const Placement& placement = PlacementAt(people_[i], t);
      if (placement.school == school && keep(placement.role)) {
        result.push_back(index);
      }
    }
    return result;
  }
  std::vector<int> DepartmentMembers(const std::string& department,
                                     absl::Time t) {
    std::vector<int> result;
    for (size_t i = 0; i < people_.size(); ++i) {
      const int index = static_cast<int>(i);
      if (!Active(index, t)) continue;
      const Placement& placement = PlacementAt(people_[i], t);
      if (std::find(placement.departments.begin(), placement.departments.end(),
                    department) != placement.departments.end()) {
        result.push_back(index);
      }
    }
    return result;
  }
  // Leaders (head, senior and middle leaders) of `school` at `t`, not `not`.
  std::vector<int> Leaders(int school, absl::Time t, int not_this) {
    std::vector<int> leaders = Members(school, t, [](v1::StaffRole role) {
      return role == v1::STAFF_ROLE_SENIOR_LEADER ||
             role == v1::STAFF_ROLE_MIDDLE_LEADER;
    });
    leaders.erase(std::remove(leaders.begin(), leaders.end(), not_this),
                  leaders.end());
    return leaders;
  }
  // Their line manager at `t` if active, else their school's head (or -1).
  int ManagerOrHead(int index, absl::Time t) {
    const Placement& placement = PlacementAt(people_[index], t);
    if (placement.manager >= 0 && Active(placement.manager, t)) {
      return placement.manager;
    }
    const int head = schools_[placement.school].head;
    return head != index ? head : -1;
  }
  const std::string& IdOf(int index) const { return people_[index].id; }

  // Areas a person may be asked to develop, other than questioning: those
  // their CPD covers, so that only questioning is flagged widely without
  // being covered; `fallback` for the few whose CPD covers none.
  std::vector<std::string> WorkableAreas(
      const Person& person, absl::string_view fallback = "behaviour") const {
    std::vector<std::string> areas;
    for (const std::string& area : person.covered) {
      if (area != "professional-conduct") areas.push_back(area);
    }
    if (areas.empty()) areas.push_back(std::string(fallback));
    return areas;
  }

  template <typename Request>
  Request* Add(absl::Time at, absl::string_view rpc,
               absl::string_view platform) {
    auto request = std::make_unique<Request>();
    SetTime(at, request->mutable_occurred_at());
    Request* raw = request.get();
    pending_.push_back(
        {at, std::string(rpc), std::move(request), std::string(platform), {}});
    return raw;
  }
  std::string NextId(absl::string_view prefix, int* counter, int width = 4) {
    return absl::StrCat(prefix, "-",
                        absl::StrFormat("%0*d", width, ++*counter));
  }

  // The story, chapter by chapter.
  void Organisation();
  void Staff();
  void Turnover();
  void PlanningAndMoney();
  void Programmes();
  void OneOffSessions();
  void HoldSession(const std::string& id, const std::string& programme_id,
                   const std::string& title,
                   const std::vector<std::string>& areas, int facilitator,
                   absl::Time held, int minutes, std::vector<int> invited,
                   double attendance, int64_t cost_pence,
                   std::optional<absl::Duration> follow_up,
                   const std::vector<v1::Mechanism>& mechanisms,
                   bool follow_up_mechanisms);
  // Records one held session of at most kMaxSessionAttendees attendees.
  void RecordSessionHeld(Session session, const std::string& title,
                         int facilitator, int minutes, int64_t cost_pence,
                         std::optional<absl::Duration> follow_up,
                         const std::vector<v1::Mechanism>& mechanisms);
  void Observations();
  void RecordObservation(int observed, absl::Time t, v1::ObservationKind kind);
  void LearningWalks();
  void Coaching();
  void CoachingConversation(int coach, int coachee, absl::Time t,
                            v1::CoachingKind kind);
  void Appraisal();
  void SessionFollowUps();
  void NeedsDecisionsEvaluations();
  absl::StatusOr<DemoPlan> Finish();

  const DemoOptions options_;
  Rng rng_;
  absl::Time registered_, year_end_;
  int first_year_ = 0;
  std::string academic_year_;
  std::vector<std::vector<absl::CivilDay>> half_terms_;
  std::vector<absl::CivilDay> school_days_;

  std::string trust_name_;
  std::vector<School> schools_;
  std::vector<Person> people_;
  std::vector<Session> sessions_;
  struct ObservationRef {
    std::string id;
    int observed;
    absl::Time at;
  };
  std::vector<ObservationRef> observations_;
  std::map<std::string, std::vector<std::string>> observation_points_;
  std::vector<std::string> coaching_ids_;
  int programme_owner_ = -1;
  int enquiry_school_ = 0;
  int behaviour_school_ = 0;
  std::vector<Pending> pending_;
  int observation_count_ = 0, walk_count_ = 0, coaching_count_ = 0,
      goal_count_ = 0, follow_up_count_ = 0, spend_count_ = 0;
};

absl::StatusOr<DemoPlan> Generator::Run() {
  registered_ = DemoRegistrationTime(options_.now);
  first_year_ = static_cast<int>(DayOf(registered_).year());
  academic_year_ =
      absl::StrFormat("%d-%02d", first_year_, (first_year_ + 1) % 100);
  for (const HalfTerm& term : kHalfTerms) {
    const int year = term.from_month >= 9 ? first_year_ : first_year_ + 1;
    std::vector<absl::CivilDay> days;
    for (absl::CivilDay day(year, term.from_month, term.from_day);
         day <= absl::CivilDay(year, term.to_month, term.to_day); ++day) {
      const absl::Weekday weekday = absl::GetWeekday(day);
      if (weekday != absl::Weekday::saturday &&
          weekday != absl::Weekday::sunday) {
        days.push_back(day);
      }
    }
    school_days_.insert(school_days_.end(), days.begin(), days.end());
    half_terms_.push_back(std::move(days));
  }
  year_end_ = At(school_days_.back(), 17, 0);

  Organisation();
  Staff();
  Turnover();
  PlanningAndMoney();
  Programmes();
  OneOffSessions();
  Observations();
  LearningWalks();
  Coaching();
  Appraisal();
  SessionFollowUps();
  NeedsDecisionsEvaluations();
  return Finish();
}

void Generator::Organisation() {
  const auto& words = kTrustWords[rng_.Below(std::size(kTrustWords))];
  trust_name_ = absl::StrCat(words[0], " ", words[1]);
  auto* trust = Add<v1::RegisterTrustRequest>(
      registered_, "OrganisationService.RegisterTrust", kMis);
  trust->mutable_trust()->set_name(trust_name_);

  for (int s = 0; s < options_.schools; ++s) {
    School school;
    school.id = kSchools[s].id;
    school.name = kSchools[s].name;
    school.primary = kSchools[s].primary;
    auto* added = Add<v1::AddSchoolRequest>(
        registered_, "OrganisationService.AddSchool", kMis);
    added->mutable_school()->set_school_id(school.id);
    added->mutable_school()->set_name(school.name);
    absl::Span<const DepartmentTemplate> departments =
        school.primary
            ? absl::Span<const DepartmentTemplate>(kPrimaryDepartments)
            : absl::Span<const DepartmentTemplate>(kSecondaryDepartments);
    for (const DepartmentTemplate& department : departments) {
      Department d;
      d.code = department.code;
      d.id = absl::StrCat(school.id, "-", department.code);
      d.name = department.name;
      auto* request = Add<v1::AddDepartmentRequest>(
          registered_, "OrganisationService.AddDepartment", kMis);
      request->mutable_department()->set_department_id(d.id);
      request->mutable_department()->set_school_id(school.id);
      request->mutable_department()->set_name(d.name);
      school.departments.push_back(std::move(d));
    }
    schools_.push_back(std::move(school));
  }
  // The trust grows its taxonomy: oracy matters in its primaries.
  auto* area = Add<v1::AddDevelopmentAreaRequest>(
      registered_ + absl::Hours(7), "OrganisationService.AddDevelopmentArea",
      kMis);
  area->mutable_area()->set_code("oracy");
  area->mutable_area()->set_label("Oracy");
  area->mutable_area()->set_description(
      "Talk for learning: structured discussion, vocabulary and presenting.");
}

void Generator::Staff() {
  // School sizes: secondaries about twice a primary, each at least the
  // minimum.
  std::vector<double> weights;
  double total_weight = 0;
  for (const School& school : schools_) {
    weights.push_back(school.primary ? 1.0 : 2.0);
    total_weight += weights.back();
  }
  std::vector<int> sizes;
  int assigned = 0;
  for (size_t s = 0; s < schools_.size(); ++s) {
    int size =
        std::max(kMinStaffPerSchool,
                 static_cast<int>(options_.staff * weights[s] / total_weight));
    if (s + 1 == schools_.size()) {
      size = std::max(kMinStaffPerSchool, options_.staff - assigned);
    }
    sizes.push_back(size);
    assigned += size;
  }

  std::set<std::string> used_names;
  auto add_person = [&](int school, std::vector<std::string> departments,
                        v1::StaffRole role, int manager) {
    Person person;
    person.id =
        absl::StrFormat("stf-%04d", static_cast<int>(people_.size()) + 1);
    for (int attempt = 0;; ++attempt) {
      person.first = rng_.Pick(absl::MakeConstSpan(kFirstNames));
      person.last = rng_.Pick(absl::MakeConstSpan(kLastNames));
      std::string full = absl::StrCat(person.first, " ", person.last);
      if (attempt >= 20) {
        person.last = absl::StrCat(person.last, "-",
                                   rng_.Pick(absl::MakeConstSpan(kLastNames)));
        full = absl::StrCat(person.first, " ", person.last);
      }
      if (used_names.insert(full).second) break;
    }
    Placement placement;
    placement.from = registered_;
    placement.school = school;
    placement.departments = std::move(departments);
    placement.role = role;
    placement.manager = manager;
    person.placements.push_back(std::move(placement));
    if (Teaches(role)) {
      person.questioning =
          rng_.Chance(role == v1::STAFF_ROLE_EARLY_CAREER_TEACHER ? 0.6 : 0.42);
    }
    people_.push_back(std::move(person));
    return static_cast<int>(people_.size()) - 1;
  };

  for (size_t s = 0; s < schools_.size(); ++s) {
    School& school = schools_[s];
    const int school_index = static_cast<int>(s);
    const int size = sizes[s];
    const int departments = static_cast<int>(school.departments.size());
    school.head =
        add_person(school_index, {}, v1::STAFF_ROLE_SENIOR_LEADER, -1);
    const int senior = std::max(1, size / 25);
    for (int i = 0; i < senior; ++i) {
      std::vector<std::string> teaches;
      if (!school.primary) {
        teaches.push_back(rng_.Pick(school.departments).id);
      }
      school.senior.push_back(add_person(
          school_index, teaches, v1::STAFF_ROLE_SENIOR_LEADER, school.head));
    }
    for (Department& department : school.departments) {
      department.head =
          add_person(school_index, {department.id},
                     v1::STAFF_ROLE_MIDDLE_LEADER, rng_.Pick(school.senior));
    }
    const int rest = size - 1 - senior - departments;
    const int assistants =
        static_cast<int>(rest * (school.primary ? 0.3 : 0.12) + 0.5);
    const int early_career = std::max(1, static_cast<int>(rest * 0.12 + 0.5));
    for (int i = 0; i < rest; ++i) {
      const Department& department =
          school
              .departments[static_cast<size_t>(i) % school.departments.size()];
      std::vector<std::string> in = {department.id};
      v1::StaffRole role = v1::STAFF_ROLE_TEACHER;
      if (i < assistants) {
        role = v1::STAFF_ROLE_TEACHING_ASSISTANT;
      } else if (i < assistants + early_career) {
        role = v1::STAFF_ROLE_EARLY_CAREER_TEACHER;
      } else if (!school.primary && departments > 1 && rng_.Chance(0.08)) {
        const Department& second = rng_.Pick(school.departments);
        if (second.id != department.id) in.push_back(second.id);
      }
      add_person(school_index, in, role, department.head);
    }
  }

  for (const Person& person : people_) {
    const Placement& placement = person.placements.front();
    auto* request = Add<v1::RecordStaffJoinedRequest>(
        registered_, "StaffDirectoryService.RecordStaffJoined", kMis);
    v1::StaffMemberJoined* joined = request->mutable_joined();
    joined->set_staff_id(person.id);
    joined->set_school_id(schools_[placement.school].id);
    for (const std::string& department : placement.departments) {
      joined->add_department_ids(department);
    }
    joined->set_role(placement.role);
    if (placement.manager >= 0) {
      joined->set_line_manager_id(IdOf(placement.manager));
    }
    joined->mutable_personal()->set_display_name(
        absl::StrCat(person.first, " ", person.last));
    joined->mutable_personal()->set_email(absl::AsciiStrToLower(
        absl::StrCat(person.first, ".", person.last, "@",
                     schools_[placement.school].id, ".example.org")));
  }
}

void Generator::Turnover() {
  // Classroom staff (who manage nobody) may leave or move.
  auto candidates = [&](v1::StaffRole role) {
    std::vector<int> result;
    for (size_t i = 0; i < people_.size(); ++i) {
      const Person& person = people_[i];
      if (!person.left.has_value() && person.placements.size() == 1 &&
          person.placements.front().role == role) {
        result.push_back(static_cast<int>(i));
      }
    }
    rng_.Shuffle(&result);
    return result;
  };
  const absl::Time christmas = At(half_terms_[1].back(), 17, 0);
  const absl::Time january = At(half_terms_[2].front(), 7, 0);
  const absl::Time february = At(half_terms_[3].front(), 7, 0);
  const absl::Time easter = At(half_terms_[3].back(), 17, 0);
  const absl::Time april = At(half_terms_[4].front(), 7, 0);
  const absl::Time may = At(half_terms_[4].back(), 17, 0);

  auto record_move = [&](int index, Placement placement) {
    Person& person = people_[index];
    auto* request = Add<v1::RecordStaffMovedRequest>(
        placement.from, "StaffDirectoryService.RecordStaffMoved", kMis);
    v1::StaffMemberMoved* moved = request->mutable_moved();
    moved->set_staff_id(person.id);
    moved->set_school_id(schools_[placement.school].id);
    for (const std::string& department : placement.departments) {
      moved->add_department_ids(department);
    }
    moved->set_role(placement.role);
    if (placement.manager >= 0) {
      moved->set_line_manager_id(IdOf(placement.manager));
    }
    person.placements.push_back(std::move(placement));
  };

  // Leavers: some at Christmas (replaced in January), Easter and May.
  std::vector<int> teachers = candidates(v1::STAFF_ROLE_TEACHER);
  const std::vector<absl::Time> leave_times = {christmas, christmas, easter,
                                               may, may};
  const size_t leavers = std::min<size_t>(
      std::max<size_t>(2, static_cast<size_t>(options_.staff) / 30),
      std::min(leave_times.size(), teachers.size() / 2));
  std::vector<int> replaced;
  for (size_t i = 0; i < leavers; ++i) {
    const int index = teachers.back();
    teachers.pop_back();
    people_[index].left = leave_times[i];
    auto* request = Add<v1::RecordStaffLeftRequest>(
        leave_times[i], "StaffDirectoryService.RecordStaffLeft", kMis);
    request->mutable_left()->set_staff_id(IdOf(index));
    if (leave_times[i] == christmas) replaced.push_back(index);
  }

  // Movers.
  if (!teachers.empty()) {
    // To another school (or department) in January.
    const int index = teachers.back();
    teachers.pop_back();
    Placement placement = people_[index].placements.front();
    placement.from = january;
    const int from_school = placement.school;
    placement.school = (from_school + 1) % static_cast<int>(schools_.size());
    const School& school = schools_[placement.school];
    const Department* department = &rng_.Pick(school.departments);
    for (const Department& d : school.departments) {
      if (absl::EndsWith(placement.departments.front(), "-" + d.code) &&
          d.id != placement.departments.front()) {
        department = &d;
      }
    }
    placement.departments = {department->id};
    placement.manager = department->head;
    record_move(index, std::move(placement));
  }
  if (!teachers.empty()) {
    // Promoted to a middle-leadership role at Easter.
    const int index = teachers.back();
    teachers.pop_back();
    Placement placement = people_[index].placements.front();
    placement.from = april;
    placement.role = v1::STAFF_ROLE_MIDDLE_LEADER;
    placement.manager = rng_.Pick(schools_[placement.school].senior);
    record_move(index, std::move(placement));
  }
  if (!teachers.empty()) {
    // Picks up a second department in February.
    const int index = teachers.back();
    teachers.pop_back();
    Placement placement = people_[index].placements.front();
    placement.from = february;
    for (const Department& d : schools_[placement.school].departments) {
      if (d.id != placement.departments.front()) {
        placement.departments.push_back(d.id);
        break;
      }
    }
    record_move(index, std::move(placement));
  }
  std::vector<int> early_career =
      candidates(v1::STAFF_ROLE_EARLY_CAREER_TEACHER);
  if (!early_career.empty()) {
    // A new mentor in January.
    const int index = early_career.back();
    Placement placement = people_[index].placements.front();
    placement.from = january;
    std::vector<int> mentors = schools_[placement.school].senior;
    placement.manager = rng_.Pick(mentors);
    record_move(index, std::move(placement));
  }

  // Joiners: replacements in January, a teaching assistant in February.
  auto join = [&](int school, std::vector<std::string> departments,
                  v1::StaffRole role, int manager, absl::Time at) {
    Person person;
    person.id =
        absl::StrFormat("stf-%04d", static_cast<int>(people_.size()) + 1);
    person.first = rng_.Pick(absl::MakeConstSpan(kFirstNames));
    person.last = rng_.Pick(absl::MakeConstSpan(kLastNames));
    Placement placement;
    placement.from = at;
    placement.school = school;
    placement.departments = std::move(departments);
    placement.role = role;
    placement.manager = manager;
    person.placements.push_back(placement);
    person.questioning = Teaches(role) && rng_.Chance(0.5);
    auto* request = Add<v1::RecordStaffJoinedRequest>(
        at, "StaffDirectoryService.RecordStaffJoined", kMis);
    v1::StaffMemberJoined* joined = request->mutable_joined();
    joined->set_staff_id(person.id);
    joined->set_school_id(schools_[school].id);
    for (const std::string& department : placement.departments) {
      joined->add_department_ids(department);
    }
    joined->set_role(role);
    if (manager >= 0) joined->set_line_manager_id(IdOf(manager));
    joined->mutable_personal()->set_display_name(
        absl::StrCat(person.first, " ", person.last));
    joined->mutable_personal()->set_email(absl::AsciiStrToLower(
        absl::StrCat(person.first, ".", person.last, ".", people_.size() + 1,
                     "@", schools_[school].id, ".example.org")));
    people_.push_back(std::move(person));
  };
  for (int index : replaced) {
    const Placement& was = people_[index].placements.front();
    join(was.school, was.departments, v1::STAFF_ROLE_TEACHER, was.manager,
         january + absl::Minutes(30));
  }
  const School& first = schools_.front();
  join(0, {first.departments.front().id}, v1::STAFF_ROLE_TEACHING_ASSISTANT,
       first.departments.front().head, february + absl::Minutes(30));
}

void Generator::PlanningAndMoney() {
  const absl::Time inset = registered_ + absl::Hours(8);
  // Priorities: the trust's, then each school's.
  auto* trust_priority = Add<v1::AdoptImprovementPriorityRequest>(
      inset, "PlanningService.AdoptImprovementPriority", kPlanningTool);
  v1::ImprovementPriorityAdopted* adopted = trust_priority->mutable_priority();
  adopted->set_priority_id("trust-responsive-teaching");
  adopted->set_academic_year(academic_year_);
  adopted->set_title("Responsive teaching: check, act on and feed back");
  for (const char* area :
       {"formative-assessment", "retrieval-practice", "feedback"}) {
    adopted->add_areas(area);
  }
  bool behaviour_taken = false;
  for (size_t s = 0; s < schools_.size(); ++s) {
    School& school = schools_[s];
    if (school.primary) {
      school.priority_area = "literacy";
    } else if (!behaviour_taken) {
      school.priority_area = "behaviour";
      behaviour_taken = true;
      behaviour_school_ = static_cast<int>(s);
    } else {
      school.priority_area = "adaptive-teaching";
    }
    auto* request = Add<v1::AdoptImprovementPriorityRequest>(
        inset + absl::Minutes(5), "PlanningService.AdoptImprovementPriority",
        kPlanningTool);
    v1::ImprovementPriorityAdopted* priority = request->mutable_priority();
    priority->set_priority_id(absl::StrCat(school.id, "-priority"));
    priority->set_school_id(school.id);
    priority->set_academic_year(academic_year_);
    priority->set_title(school.priority_area == "behaviour"
                            ? "Calm, purposeful classrooms"
                        : school.priority_area == "literacy"
                            ? "Every child a fluent reader"
                            : "Adaptive teaching so every pupil keeps up");
    priority->add_areas(school.priority_area);
    if (school.priority_area == "literacy") priority->add_areas("oracy");

    // Budget, by size.
    const int staff = static_cast<int>(
        Members(static_cast<int>(s), registered_, [](v1::StaffRole) {
          return true;
        }).size());
    auto* budget = Add<v1::SetCpdBudgetRequest>(inset + absl::Minutes(10),
                                                "PlanningService.SetCpdBudget",
                                                kPlanningTool);
    budget->mutable_budget()->set_school_id(school.id);
    budget->mutable_budget()->set_academic_year(academic_year_);
    budget->mutable_budget()->set_amount_pence(int64_t{15000} * staff +
                                               100000 * rng_.Between(0, 5));

    // CPD time each term.
    for (int term = 0; term < 3; ++term) {
      const absl::CivilDay start = half_terms_[2 * term].front();
      const absl::CivilDay end = half_terms_[2 * term + 1].back();
      const absl::Time at =
          term == 0 ? inset + absl::Minutes(15) : At(start, 7, 30);
      auto* request = Add<v1::AllocateCpdTimeRequest>(
          at, "PlanningService.AllocateCpdTime", kPlanningTool);
      v1::CpdTimeAllocated* allocation = request->mutable_allocation();
      allocation->set_school_id(school.id);
      SetTime(At(start, 0, 0), allocation->mutable_period_start());
      SetTime(At(end, 23, 59), allocation->mutable_period_end());
      allocation->set_minutes_per_staff_member(term == 0 ? 420 : 360);
    }
    // Meeting time that CPD lost to other things.
    for (int half_term = 0; half_term < kHalfTermCount; ++half_term) {
      const int count = 1 + (rng_.Chance(0.4) ? 1 : 0);
      for (int i = 0; i < count; ++i) {
        auto* request = Add<v1::RecordMeetingTimeRepurposedRequest>(
            At(RandomDay(half_term, 2), 16, 0),
            "PlanningService.RecordMeetingTimeRepurposed", kPlanningTool);
        request->mutable_repurposed()->set_school_id(school.id);
        request->mutable_repurposed()->set_minutes(
            static_cast<uint32_t>(30 * rng_.Between(1, 3)));
        request->mutable_repurposed()->set_reason(
            rng_.Pick(absl::MakeConstSpan(kRepurposeReasons)));
      }
    }
    // Spending unrelated to any session or programme.
    auto* conference = Add<v1::RecordCpdSpendRequest>(
        At(RandomDay(1, 3), 12, 0), "PlanningService.RecordCpdSpend",
        kPlanningTool);
    conference->mutable_spend()->set_spend_id(
        NextId("spend", &spend_count_, 3));
    conference->mutable_spend()->set_school_id(school.id);
    conference->mutable_spend()->set_amount_pence(int64_t{25000} *
                                                  rng_.Between(2, 6));
    conference->mutable_spend()->set_description(
        school.primary ? "Subject leaders' network conference"
                       : "Exam board subject update courses");
    conference->mutable_spend()->add_areas("subject-knowledge");
    auto* wellbeing = Add<v1::RecordCpdSpendRequest>(
        At(RandomDay(3, 3), 12, 0), "PlanningService.RecordCpdSpend",
        kPlanningTool);
    wellbeing->mutable_spend()->set_spend_id(NextId("spend", &spend_count_, 3));
    wellbeing->mutable_spend()->set_school_id(school.id);
    wellbeing->mutable_spend()->set_amount_pence(int64_t{10000} *
                                                 rng_.Between(3, 9));
    wellbeing->mutable_spend()->set_description(
        "Staff wellbeing and workload workshop");
  }
  // The behaviour priority is met and closed at the end of the year.
  for (const School& school : schools_) {
    if (school.priority_area != "behaviour") continue;
    auto* close = Add<v1::CloseImprovementPriorityRequest>(
        At(half_terms_[5][half_terms_[5].size() - 3], 16, 0),
        "PlanningService.CloseImprovementPriority", kPlanningTool);
    close->mutable_close()->set_priority_id(
        absl::StrCat(school.id, "-priority"));
    close->mutable_close()->set_reason(
        "Met: behaviour incidents down and routines consistent in every "
        "department");
  }
}

void Generator::HoldSession(
    const std::string& id, const std::string& programme_id,
    const std::string& title, const std::vector<std::string>& areas,
    int facilitator, absl::Time held, int minutes, std::vector<int> invited,
    double attendance, int64_t cost_pence,
    std::optional<absl::Duration> follow_up,
    const std::vector<v1::Mechanism>& mechanisms, bool follow_up_mechanisms) {
  Session session;
  session.id = id;
  session.programme_id = programme_id;
  session.areas = areas;
  session.held = held;
  session.follow_up_mechanisms = follow_up_mechanisms;
  for (int index : invited) {
    if (index != facilitator && Active(index, held) &&
        rng_.Chance(attendance)) {
      session.attendees.push_back(index);
    }
  }
  if (session.attendees.empty()) {
    for (int index : invited) {
      if (index != facilitator && Active(index, held)) {
        session.attendees.push_back(index);
        break;
      }
    }
  }
  if (session.attendees.empty()) return;
  std::sort(session.attendees.begin(), session.attendees.end());
  // The server takes at most kMaxSessionAttendees attendees per session, so
  // a larger group is taught in several sittings of near-equal size: the
  // first under `id`, the others as "<id>-sitting-<n>" straight after it
  // (a quarter of an hour apart), the cost shared between them.
  const size_t count = session.attendees.size();
  const size_t sittings =
      (count + kMaxSessionAttendees - 1) / kMaxSessionAttendees;
  if (sittings == 1) {
    RecordSessionHeld(std::move(session), title, facilitator, minutes,
                      cost_pence, follow_up, mechanisms);
    return;
  }
  for (size_t k = 0; k < sittings; ++k) {
    Session sitting = session;
    if (k > 0) {
      sitting.id = absl::StrCat(id, "-sitting-", k + 1);
      sitting.held =
          held + static_cast<int64_t>(k) * absl::Minutes(minutes + 15);
    }
    sitting.attendees.assign(
        session.attendees.begin() +
            static_cast<ptrdiff_t>(k * count / sittings),
        session.attendees.begin() +
            static_cast<ptrdiff_t>((k + 1) * count / sittings));
    const int64_t share = cost_pence / static_cast<int64_t>(sittings);
    RecordSessionHeld(
        std::move(sitting), title, facilitator, minutes,
        k == 0 ? cost_pence - share * static_cast<int64_t>(sittings - 1)
               : share,
        follow_up, mechanisms);
  }
}

void Generator::RecordSessionHeld(
    Session session, const std::string& title, int facilitator, int minutes,
    int64_t cost_pence, std::optional<absl::Duration> follow_up,
    const std::vector<v1::Mechanism>& mechanisms) {
  const absl::Time held = session.held;
  const std::string& id = session.id;
  const std::string& programme_id = session.programme_id;
  const std::vector<std::string>& areas = session.areas;
  auto* request = Add<v1::RecordSessionHeldRequest>(
      held, "CpdProgrammeService.RecordSessionHeld", kCpdPlatform);
  v1::SessionHeld* record = request->mutable_session();
  record->set_session_id(id);
  record->set_programme_id(programme_id);
  record->set_title(title);
  for (const std::string& area : areas) record->add_areas(area);
  record->set_facilitator_staff_id(IdOf(facilitator));
  record->set_minutes(static_cast<uint32_t>(minutes));
  for (int index : session.attendees) {
    record->add_attendee_staff_ids(IdOf(index));
    people_[index].attended.emplace_back(held, areas.front());
    for (const std::string& area : areas) people_[index].covered.insert(area);
  }
  record->set_cost_pence(cost_pence);
  if (follow_up.has_value()) {
    session.due = held + *follow_up;
    // A programme's follow-up days are filled in by the server; one-off
    // sessions name their due time.
    if (programme_id.empty())
      SetTime(*session.due, record->mutable_follow_up_due());
  }
  for (v1::Mechanism mechanism : mechanisms) record->add_mechanisms(mechanism);
  sessions_.push_back(std::move(session));
}

void Generator::Programmes() {
  const School& lead_school = schools_.front();
  programme_owner_ = lead_school.senior.front();
  const absl::Time launch = At(half_terms_[0][4], 9, 0);

  // 1. A trust-wide mastery programme serving the trust's priority.
  {
    const std::string id = "prog-responsive-teaching";
    auto* request = Add<v1::LaunchProgrammeRequest>(
        launch, "CpdProgrammeService.LaunchProgramme", kCpdPlatform);
    v1::ProgrammeLaunched* programme = request->mutable_programme();
    programme->set_programme_id(id);
    programme->set_title(
        "Responsive teaching: retrieval, checking and feedback");
    for (const char* area :
         {"retrieval-practice", "formative-assessment", "feedback"}) {
      programme->add_areas(area);
    }
    programme->set_kind(v1::PROGRAMME_KIND_MASTERY);
    programme->set_owner_staff_id(IdOf(programme_owner_));
    programme->set_follow_up_days(14);

    std::vector<int> cohort;
    for (size_t i = 0; i < people_.size(); ++i) {
      const Placement& placement = people_[i].placements.front();
      if (placement.from == registered_ && Teaches(placement.role) &&
          rng_.Chance(0.38)) {
        cohort.push_back(static_cast<int>(i));
      }
    }
    const std::vector<std::pair<std::string, std::vector<std::string>>>
        sessions = {
            {"Why retrieval works", {"retrieval-practice"}},
            {"Low-stakes quizzing that tells you something",
             {"retrieval-practice", "formative-assessment"}},
            {"Hinge questions and mini-whiteboards", {"formative-assessment"}},
            {"Whole-class feedback", {"feedback"}},
            {"Acting on what pupils show you",
             {"formative-assessment", "feedback"}},
            {"Spacing and interleaving across units",
             {"retrieval-practice", "feedback"}}};
    const std::vector<v1::Mechanism> mechanisms = {
        v1::MECHANISM_A_REVISITING_PRIOR_LEARNING, v1::MECHANISM_C_MODELLING,
        v1::MECHANISM_C_REHEARSING, v1::MECHANISM_D_ACTION_PLANNING};
    for (size_t k = 0; k < sessions.size(); ++k) {
      const std::string session_id = absl::StrCat("rt-session-", k + 1);
      // Early in each half-term, so that follow-up can come before its end.
      const absl::CivilDay day =
          RandomDay(static_cast<int>(k), k == 0 ? 6 : 1, k == 0 ? 12 : 6);
      const absl::Time held = At(day, 15, 45);
      const std::vector<int> leaders = {programme_owner_,
                                        lead_school.departments.front().head};
      const int facilitator = leaders[k % leaders.size()];
      auto* plan = Add<v1::PlanSessionRequest>(
          launch + absl::Minutes(static_cast<int64_t>(k) + 1),
          "CpdProgrammeService.PlanSession", kCpdPlatform);
      v1::SessionPlanned* planned = plan->mutable_session();
      planned->set_session_id(session_id);
      planned->set_programme_id(id);
      planned->set_title(
          absl::StrCat("Responsive teaching ", k + 1, ": ", sessions[k].first));
      for (const std::string& area : sessions[k].second) {
        planned->add_areas(area);
      }
      planned->set_facilitator_staff_id(IdOf(facilitator));
      SetTime(held, planned->mutable_scheduled_for());
      planned->set_minutes(75);
      for (v1::Mechanism mechanism : mechanisms) {
        planned->add_mechanisms(mechanism);
      }
      HoldSession(session_id, id, planned->title(), sessions[k].second,
                  facilitator, held, 75, cohort, 0.88, 0, absl::Hours(24 * 14),
                  mechanisms, true);
    }
    auto* spend = Add<v1::RecordCpdSpendRequest>(
        launch + absl::Hours(2), "PlanningService.RecordCpdSpend",
        kPlanningTool);
    spend->mutable_spend()->set_spend_id(NextId("spend", &spend_count_, 3));
    spend->mutable_spend()->set_school_id(lead_school.id);
    spend->mutable_spend()->set_amount_pence(240000);
    spend->mutable_spend()->set_description(
        "Responsive teaching programme: books and mini-whiteboards");
    spend->mutable_spend()->add_areas("retrieval-practice");
    spend->mutable_spend()->add_areas("formative-assessment");
    spend->mutable_spend()->set_programme_id(id);
  }

  // 2. A teacher enquiry in one secondary (or the first school).
  {
    int school = 0;
    for (size_t s = 0; s < schools_.size(); ++s) {
      if (!schools_[s].primary && schools_[s].priority_area != "behaviour") {
        school = static_cast<int>(s);
      }
    }
    enquiry_school_ = school;
    const std::string id = "prog-adaptive-enquiry";
    const int owner = schools_[school].senior.back();
    const absl::Time at = At(half_terms_[0][9], 9, 0);
    auto* request = Add<v1::LaunchProgrammeRequest>(
        at, "CpdProgrammeService.LaunchProgramme", kCpdPlatform);
    v1::ProgrammeLaunched* programme = request->mutable_programme();
    programme->set_programme_id(id);
    programme->set_title(
        "Enquiry: what helps pupils with SEND keep up in mixed-attainment "
        "classes?");
    programme->add_areas("adaptive-teaching");
    programme->add_areas("send-support");
    programme->set_kind(v1::PROGRAMME_KIND_ENQUIRY);
    programme->set_owner_staff_id(IdOf(owner));
    programme->set_follow_up_days(21);
    programme->set_school_id(schools_[school].id);

    std::vector<int> cohort =
        Members(school, registered_, [](v1::StaffRole role) {
          return role == v1::STAFF_ROLE_TEACHER ||
                 role == v1::STAFF_ROLE_MIDDLE_LEADER;
        });
    rng_.Shuffle(&cohort);
    cohort.resize(std::min<size_t>(cohort.size(), 14));
    const std::vector<v1::Mechanism> mechanisms = {
        v1::MECHANISM_B_CREDIBLE_SOURCE, v1::MECHANISM_C_SOCIAL_SUPPORT,
        v1::MECHANISM_D_SELF_MONITORING, v1::MECHANISM_D_ACTION_PLANNING};
    const std::vector<std::pair<int, std::string>> meetings = {
        {0, "Framing the question and reading the evidence"},
        {2, "Designing classroom trials"},
        {3, "Looking at pupils' work together"},
        {4, "What we found and what we will keep doing"}};
    for (size_t k = 0; k < meetings.size(); ++k) {
      const std::string session_id = absl::StrCat("enquiry-session-", k + 1);
      const absl::CivilDay day =
          RandomDay(meetings[k].first, meetings[k].first == 0 ? 15 : 2, 20);
      HoldSession(session_id, id,
                  absl::StrCat("Adaptive teaching enquiry ", k + 1, ": ",
                               meetings[k].second),
                  {"adaptive-teaching", "send-support"}, owner, At(day, 15, 40),
                  90, cohort, 0.9, 0, absl::Hours(24 * 21), mechanisms, true);
    }
    auto* cover = Add<v1::RecordCpdSpendRequest>(
        At(half_terms_[3][5], 12, 0), "PlanningService.RecordCpdSpend",
        kPlanningTool);
    cover->mutable_spend()->set_spend_id(NextId("spend", &spend_count_, 3));
    cover->mutable_spend()->set_school_id(schools_[school].id);
    cover->mutable_spend()->set_amount_pence(180000);
    cover->mutable_spend()->set_description(
        "Supply cover for enquiry lesson studies");
    cover->mutable_spend()->add_areas("adaptive-teaching");
    cover->mutable_spend()->set_programme_id(id);
    auto* findings = Add<v1::ShareEnquiryFindingsRequest>(
        At(half_terms_[5][12], 16, 0),
        "CpdProgrammeService.ShareEnquiryFindings", kCpdPlatform);
    findings->mutable_findings()->set_programme_id(id);
    findings->mutable_findings()->set_summary(
        "Pre-teaching key vocabulary and a visual task checklist helped "
        "pupils with SEND start independent work sooner in 9 of 12 trial "
        "classes; scaffolds faded over three weeks worked better than "
        "permanent ones. The department will adopt both next year.");
    findings->mutable_findings()->add_areas("adaptive-teaching");
    findings->mutable_findings()->add_areas("send-support");
  }

  // 3. A behaviour programme in the school that made it its priority.
  {
    const School& school = schools_[behaviour_school_];
    const std::string id = "prog-calm-classrooms";
    const absl::Time at = At(half_terms_[0][2], 8, 0);
    auto* request = Add<v1::LaunchProgrammeRequest>(
        at, "CpdProgrammeService.LaunchProgramme", kCpdPlatform);
    v1::ProgrammeLaunched* programme = request->mutable_programme();
    programme->set_programme_id(id);
    programme->set_title("Calm classrooms: routines that run themselves");
    programme->add_areas("behaviour");
    programme->set_kind(v1::PROGRAMME_KIND_MASTERY);
    programme->set_owner_staff_id(IdOf(school.head));
    programme->set_follow_up_days(10);
    programme->set_school_id(school.id);
    const std::vector<int> staff =
        Members(behaviour_school_, registered_, Teaches);
    const std::vector<v1::Mechanism> mechanisms = {
        v1::MECHANISM_C_INSTRUCTING_HOW_TO_PERFORM, v1::MECHANISM_C_MODELLING,
        v1::MECHANISM_C_REHEARSING, v1::MECHANISM_D_PROMPTS_AND_CUES};
    const std::vector<std::pair<int, std::string>> meetings = {
        {0, "Entry and exit routines"},
        {1, "Attention on cue"},
        {2, "Positive framing and consistent consequences"}};
    for (size_t k = 0; k < meetings.size(); ++k) {
      const absl::CivilDay day =
          RandomDay(meetings[k].first, k == 0 ? 4 : 1, k == 0 ? 8 : 8);
      HoldSession(
          absl::StrCat("calm-session-", k + 1), id,
          absl::StrCat("Calm classrooms ", k + 1, ": ", meetings[k].second),
          {"behaviour"}, school.head, At(day, 15, 30), 60, staff, 0.85, 0,
          absl::Hours(24 * 10), mechanisms, true);
    }
  }
}

void Generator::OneOffSessions() {
  const absl::Time inset = registered_ + absl::Hours(13);
  const std::vector<v1::Mechanism> briefing = {v1::MECHANISM_B_CREDIBLE_SOURCE};
  const std::vector<v1::Mechanism> lecture = {
      v1::MECHANISM_A_MANAGING_COGNITIVE_LOAD, v1::MECHANISM_B_CREDIBLE_SOURCE};
  for (size_t s = 0; s < schools_.size(); ++s) {
    const School& school = schools_[s];
    const int school_index = static_cast<int>(s);
    const auto everyone = [](v1::StaffRole) { return true; };
    // The September INSET: everyone, no follow-through planned.
    HoldSession(absl::StrCat(school.id, "-safeguarding"), "",
                "Safeguarding and professional conduct update",
                {"professional-conduct"}, school.head, inset, 90,
                Members(school_index, inset, everyone), 1.0, 0, std::nullopt,
                briefing, false);
    // A literacy twilight with an external speaker.
    const absl::Time literacy = At(RandomDay(1, 3, 15), 15, 45);
    const std::string literacy_id = absl::StrCat(school.id, "-literacy");
    const int cost = 45000 + 5000 * rng_.Between(0, 6);
    HoldSession(literacy_id, "",
                school.primary ? "Reading fluency across the school"
                               : "Disciplinary literacy: reading in every "
                                 "subject",
                {"literacy"}, school.departments[1].head, literacy, 90,
                Members(school_index, literacy, Teaches), 0.9, cost,
                absl::Hours(24 * 21), lecture, false);
    auto* speaker = Add<v1::RecordCpdSpendRequest>(
        literacy + absl::Hours(1), "PlanningService.RecordCpdSpend",
        kPlanningTool);
    speaker->mutable_spend()->set_spend_id(NextId("spend", &spend_count_, 3));
    speaker->mutable_spend()->set_school_id(school.id);
    speaker->mutable_spend()->set_amount_pence(cost);
    speaker->mutable_spend()->set_description("External literacy speaker");
    speaker->mutable_spend()->add_areas("literacy");
    speaker->mutable_spend()->set_session_id(literacy_id);
    // A department session each.
    const Department& department = school.departments.front();
    const absl::Time twilight =
        At(RandomDay(school.primary ? 3 : 2, 2, 20), 15, 45);
    if (school.primary) {
      std::vector<int> invited = DepartmentMembers(department.id, twilight);
      std::vector<int> key_stage_1 =
          DepartmentMembers(school.departments[1].id, twilight);
      invited.insert(invited.end(), key_stage_1.begin(), key_stage_1.end());
      std::sort(invited.begin(), invited.end());
      invited.erase(std::unique(invited.begin(), invited.end()), invited.end());
      HoldSession(
          absl::StrCat(school.id, "-phonics"), "",
          "Early reading: phonics refresher", {"literacy", "subject-knowledge"},
          department.head, twilight, 60, invited, 0.95, 0, absl::Hours(24 * 14),
          {v1::MECHANISM_C_MODELLING, v1::MECHANISM_C_REHEARSING}, false);
    } else {
      HoldSession(
          absl::StrCat(school.id, "-maths-explaining"), "",
          "Explaining and modelling in maths",
          {"explanation-and-modelling", "subject-knowledge"}, department.head,
          twilight, 60, DepartmentMembers(department.id, twilight), 0.95, 0,
          absl::Hours(24 * 14),
          {v1::MECHANISM_C_MODELLING, v1::MECHANISM_A_MANAGING_COGNITIVE_LOAD},
          false);
      const Department& humanities = school.departments.back();
      const absl::Time may = At(RandomDay(4, 2, 15), 15, 45);
      HoldSession(absl::StrCat(school.id, "-humanities-sequencing"), "",
                  "Curriculum sequencing in humanities",
                  {"curriculum-sequencing"}, humanities.head, may, 60,
                  DepartmentMembers(humanities.id, may), 0.9, 0, std::nullopt,
                  lecture, false);
    }
  }
  // A trust-wide SEND twilight for teaching assistants.
  const absl::Time send = At(RandomDay(3, 3, 15), 16, 0);
  std::vector<int> assistants;
  for (size_t s = 0; s < schools_.size(); ++s) {
    std::vector<int> more =
        Members(static_cast<int>(s), send, [](v1::StaffRole role) {
          return role == v1::STAFF_ROLE_TEACHING_ASSISTANT;
        });
    assistants.insert(assistants.end(), more.begin(), more.end());
  }
  HoldSession("trust-send-twilight", "",
              "SEND: adaptive strategies for pupils with EHC plans",
              {"send-support"}, schools_.front().senior.front(), send, 90,
              assistants, 0.8, 120000, std::nullopt, lecture, false);
}

void Generator::RecordObservation(int observed, absl::Time t,
                                  v1::ObservationKind kind) {
  if (!Active(observed, t)) return;
  const Person& person = people_[observed];
  const Placement& placement = PlacementAt(person, t);
  int observer = -1;
  if (kind == v1::OBSERVATION_KIND_FORMAL ||
      kind == v1::OBSERVATION_KIND_VIDEO) {
    observer = ManagerOrHead(observed, t);
  } else if (kind == v1::OBSERVATION_KIND_DROP_IN) {
    std::vector<int> leaders = Leaders(placement.school, t, observed);
    if (!leaders.empty()) observer = rng_.Pick(leaders);
  } else {
    std::vector<int> peers;
    for (const std::string& department : placement.departments) {
      for (int index : DepartmentMembers(department, t)) {
        if (index != observed && Teaches(PlacementAt(people_[index], t).role)) {
          peers.push_back(index);
        }
      }
    }
    if (peers.empty()) peers = Leaders(placement.school, t, observed);
    if (!peers.empty()) observer = rng_.Pick(peers);
  }
  if (observer < 0 || observer == observed) return;

  // Development points: questioning for the staff prone to it, more so as
  // the year goes on; otherwise areas their CPD works on; rarely noise.
  std::vector<std::string> points;
  const double questioning =
      person.questioning ? 0.35 + 0.4 * YearFraction(t) : 0.04;
  if (rng_.Chance(questioning)) points.push_back(kEmergentArea);
  const size_t wanted =
      points.empty() || rng_.Chance(0.3) ? points.size() + 1 : points.size();
  const std::vector<std::string> workable = WorkableAreas(person);
  for (int attempt = 0; points.size() < wanted && attempt < 10; ++attempt) {
    const std::string area =
        rng_.Chance(0.03)
            ? std::string(rng_.Pick(absl::MakeConstSpan(kNoiseAreas)))
            : rng_.Pick(workable);
    if (std::find(points.begin(), points.end(), area) == points.end()) {
      points.push_back(area);
    }
  }
  std::vector<std::string> strengths;
  const size_t strength_count = rng_.Chance(0.5) ? 2 : 1;
  for (int attempt = 0; strengths.size() < strength_count && attempt < 10;
       ++attempt) {
    const std::string area = rng_.Pick(absl::MakeConstSpan(kStrengthAreas));
    if (std::find(points.begin(), points.end(), area) == points.end() &&
        std::find(strengths.begin(), strengths.end(), area) ==
            strengths.end()) {
      strengths.push_back(area);
    }
  }

  const std::string id = NextId("obs", &observation_count_);
  auto* request = Add<v1::RecordObservationRequest>(
      t, "ObservationService.RecordObservation", kObservationApp);
  v1::ObservationRecorded* observation = request->mutable_observation();
  observation->set_observation_id(id);
  observation->set_observed_staff_id(person.id);
  observation->set_observer_staff_id(IdOf(observer));
  observation->set_kind(kind);
  for (const std::string& area : strengths) observation->add_strengths(area);
  for (const std::string& area : points) {
    observation->add_development_points(area);
  }
  if (kind == v1::OBSERVATION_KIND_FORMAL ||
      kind == v1::OBSERVATION_KIND_VIDEO) {
    // Ratings improve once someone has been to a session on the area.
    auto rate = [&](const std::string& area, bool strength) {
      int rating = 2 + (rng_.Chance(0.3) ? 1 : 0);
      for (const auto& [when, attended] : person.attended) {
        if (attended == area && when < t) {
          rating += 1;
          break;
        }
      }
      rating = strength ? std::max(rating, 3) : std::min(rating, 2);
      if (!strength && rng_.Chance(0.15)) rating = 1;
      v1::AreaRating* entry = observation->add_ratings();
      entry->set_area(area);
      entry->set_rating(std::min(rating, 4));
    };
    for (const std::string& area : points) rate(area, false);
    for (const std::string& area : strengths) rate(area, true);
    for (const auto& [when, area] : person.attended) {
      (void)when;
      bool rated = false;
      for (const v1::AreaRating& existing : observation->ratings()) {
        rated = rated || existing.area() == area;
      }
      if (!rated && area != "professional-conduct") {
        v1::AreaRating* entry = observation->add_ratings();
        entry->set_area(area);
        int rating = 2 + (rng_.Chance(0.4) ? 1 : 0);
        for (const auto& [attended_at, attended] : person.attended) {
          if (attended == area && attended_at < t) {
            rating = 3 + (rng_.Chance(0.3) ? 1 : 0);
            break;
          }
        }
        entry->set_rating(rating);
      }
    }
  }
  observation->mutable_notes()->set_text(absl::StrCat(
      strengths.empty() ? "Purposeful start"
                        : absl::StrCat("Strong ", Label(strengths.front())),
      ". Next: work on ", Label(points.front()),
      points.front() == kEmergentArea
          ? " - most questions went to volunteers; try cold calling and "
            "wait time."
          : "."));
  observations_.push_back({id, observed, t});
  observation_points_[id] = points;
}

void Generator::Observations() {
  for (size_t i = 0; i < people_.size(); ++i) {
    const int index = static_cast<int>(i);
    const Placement& placement = people_[i].placements.front();
    if (!Teaches(placement.role)) continue;
    const bool early_career =
        placement.role == v1::STAFF_ROLE_EARLY_CAREER_TEACHER;
    auto lesson = [&](int half_term) {
      return LessonTime(RandomDay(half_term, half_term == 0 ? 8 : 0));
    };
    RecordObservation(index, lesson(1), v1::OBSERVATION_KIND_FORMAL);
    RecordObservation(index, lesson(4), v1::OBSERVATION_KIND_FORMAL);
    for (int half_term : {0, 2, 5}) {
      RecordObservation(index, lesson(half_term), v1::OBSERVATION_KIND_DROP_IN);
    }
    RecordObservation(index, lesson(3),
                      rng_.Chance(0.15) ? v1::OBSERVATION_KIND_VIDEO
                                        : v1::OBSERVATION_KIND_PEER);
    if (early_career) {
      for (int half_term : {1, 3, 4}) {
        RecordObservation(index, lesson(half_term),
                          v1::OBSERVATION_KIND_DROP_IN);
      }
    }
  }
}

void Generator::LearningWalks() {
  for (const School& school : schools_) {
    for (int half_term = 0; half_term < kHalfTermCount; ++half_term) {
      const int walks = 1 + (rng_.Chance(0.5) ? 1 : 0);
      for (int w = 0; w < walks; ++w) {
        const absl::CivilDay day = RandomDay(half_term, half_term == 0 ? 5 : 0);
        auto* request = Add<v1::RecordLearningWalkRequest>(
            At(day, 10 + rng_.Between(0, 3), 0),
            "ObservationService.RecordLearningWalk", kObservationApp);
        v1::LearningWalkRecorded* walk = request->mutable_walk();
        walk->set_walk_id(NextId("walk", &walk_count_, 3));
        walk->set_school_id(school.id);
        if (rng_.Chance(0.6)) {
          walk->set_department_id(rng_.Pick(school.departments).id);
        }
        walk->add_strengths(school.priority_area);
        if (rng_.Chance(0.5)) {
          walk->add_strengths(school.primary ? "oracy" : "retrieval-practice");
        }
        if (rng_.Chance(0.55 + 0.35 * half_term / 5.0)) {
          walk->add_development_points(kEmergentArea);
        }
        if (rng_.Chance(0.3)) walk->add_development_points("feedback");
        walk->set_lessons_seen(static_cast<uint32_t>(rng_.Between(6, 14)));
      }
    }
  }
}

void Generator::CoachingConversation(int coach, int coachee, absl::Time t,
                                     v1::CoachingKind kind) {
  if (coach < 0 || coach == coachee || !Active(coach, t) ||
      !Active(coachee, t)) {
    return;
  }
  const Person& person = people_[coachee];
  std::string focus;
  if (person.questioning && rng_.Chance(0.5)) {
    focus = kEmergentArea;
  } else {
    focus = rng_.Pick(WorkableAreas(person));
  }
  const std::string id = NextId("coach", &coaching_count_);
  auto* request = Add<v1::RecordCoachingConversationRequest>(
      t, "CoachingService.RecordCoachingConversation", kCoachingApp);
  v1::CoachingConversationHeld* conversation = request->mutable_conversation();
  conversation->set_conversation_id(id);
  conversation->set_coach_staff_id(IdOf(coach));
  conversation->set_coachee_staff_id(person.id);
  conversation->set_kind(kind);
  conversation->set_focus_area(focus);
  conversation->mutable_agreed_next_step()->set_text(
      focus == kEmergentArea
          ? "Plan three hinge questions for Year 9 and use no-hands-up "
            "questioning in the starter."
          : absl::StrCat("Script and rehearse one routine for ", Label(focus),
                         "; try it with the hardest class this week."));
  SetTime(t + absl::Hours(24 * 14), conversation->mutable_next_step_due());
  coaching_ids_.push_back(id);

  // Some next steps are evidenced.
  if (rng_.Chance(0.18)) {
    std::optional<absl::CivilDay> day =
        SchoolDaysAfter(DayOf(t), rng_.Between(2, 12));
    if (day.has_value() && Active(coachee, At(*day, 16, 30))) {
      auto* follow_up = Add<v1::EvidenceFollowUpRequest>(
          At(*day, 16, 30), "CpdProgrammeService.EvidenceFollowUp",
          kCoachingApp);
      v1::FollowUpEvidenced* evidence = follow_up->mutable_follow_up();
      evidence->set_follow_up_id(NextId("fu", &follow_up_count_));
      evidence->set_staff_id(person.id);
      evidence->mutable_target()->set_coaching_conversation_id(id);
      evidence->set_evidence_kind(rng_.Chance(0.5)
                                      ? v1::EVIDENCE_KIND_COACHING_NOTE
                                      : v1::EVIDENCE_KIND_LESSON_SEEN);
      evidence->mutable_description()->set_text(
          "Tried the agreed step; coach dropped in to see it.");
      evidence->add_areas(focus);
    }
  }
}

void Generator::Coaching() {
  // Early-career teachers: mentoring every three weeks with their mentor.
  for (size_t i = 0; i < people_.size(); ++i) {
    const int index = static_cast<int>(i);
    if (people_[i].placements.front().role !=
        v1::STAFF_ROLE_EARLY_CAREER_TEACHER) {
      continue;
    }
    for (size_t day = 6 + rng_.Below(4); day < school_days_.size(); day += 15) {
      const absl::Time t = At(school_days_[day], 15, 30 + rng_.Between(0, 5));
      CoachingConversation(ManagerOrHead(index, t), index, t,
                           v1::COACHING_KIND_MENTORING);
    }
  }
  // Instructional coaching for a fifth of the teachers, monthly from
  // October, with a leader of their school.
  for (size_t i = 0; i < people_.size(); ++i) {
    const int index = static_cast<int>(i);
    const Placement& placement = people_[i].placements.front();
    if (placement.role != v1::STAFF_ROLE_TEACHER || !rng_.Chance(0.2)) {
      continue;
    }
    int coach = -1;
    for (size_t day = 22 + rng_.Below(5); day < school_days_.size();
         day += 20) {
      const absl::Time t = At(school_days_[day], 8, 0 + rng_.Between(0, 3) * 5);
      if (coach < 0 || !Active(coach, t)) {
        std::vector<int> leaders =
            Leaders(PlacementAt(people_[i], t).school, t, index);
        if (leaders.empty()) continue;
        coach = rng_.Pick(leaders);
      }
      CoachingConversation(coach, index, t, v1::COACHING_KIND_COACHING);
    }
  }
}

void Generator::Appraisal() {
  const absl::Time review_due =
      At(absl::CivilDay(first_year_ + 1, 7, 10), 16, 0);
  for (size_t i = 0; i < people_.size(); ++i) {
    const int index = static_cast<int>(i);
    Person& person = people_[i];
    const Placement& joined = person.placements.front();
    if (joined.manager < 0) continue;  // Heads are appraised by governors.
    // Set in the autumn, or a few weeks after a mid-year start.
    absl::Time set_at;
    if (joined.from == registered_) {
      set_at = At(RandomDay(0, 8, 32), 16, 0);
    } else {
      std::optional<absl::CivilDay> day =
          SchoolDaysAfter(DayOf(joined.from), 10);
      if (!day.has_value()) continue;
      set_at = At(*day, 16, 0);
    }
    if (!Active(index, set_at)) continue;
    const int setter = ManagerOrHead(index, set_at);
    if (setter < 0) continue;
    const bool teaches = Teaches(joined.role);
    const int goals = !teaches ? 1 : (rng_.Chance(0.4) ? 2 : 1);
    std::vector<std::string> used;
    for (int g = 0; g < goals; ++g) {
      std::string area;
      if (g == 0 && person.questioning && rng_.Chance(0.65)) {
        area = kEmergentArea;
      } else {
        area = rng_.Pick(WorkableAreas(person, "professional-conduct"));
      }
      if (std::find(used.begin(), used.end(), area) != used.end()) continue;
      used.push_back(area);
      const std::string id = NextId("goal", &goal_count_);
      auto* request = Add<v1::SetAppraisalGoalRequest>(
          set_at + absl::Minutes(g), "AppraisalService.SetAppraisalGoal",
          kHrSystem);
      v1::AppraisalGoalSet* goal = request->mutable_goal();
      goal->set_goal_id(id);
      goal->set_staff_id(person.id);
      goal->set_set_by_staff_id(IdOf(setter));
      goal->add_areas(area);
      goal->mutable_description()->set_text(
          area == kEmergentArea
              ? "Use questioning to check the understanding of every pupil, "
                "not just volunteers."
              : absl::StrCat("Develop ", Label(area),
                             " so that it is consistent in every lesson."));
      SetTime(review_due, goal->mutable_review_due());

      // Evidence towards the goal for some.
      if (rng_.Chance(0.12)) {
        const absl::Time at = At(RandomDay(rng_.Between(2, 4)), 16, 45);
        if (Active(index, at) && at > set_at) {
          auto* follow_up = Add<v1::EvidenceFollowUpRequest>(
              at, "CpdProgrammeService.EvidenceFollowUp", kHrSystem);
          v1::FollowUpEvidenced* evidence = follow_up->mutable_follow_up();
          evidence->set_follow_up_id(NextId("fu", &follow_up_count_));
          evidence->set_staff_id(person.id);
          evidence->mutable_target()->set_goal_id(id);
          evidence->set_evidence_kind(rng_.Chance(0.5)
                                          ? v1::EVIDENCE_KIND_REFLECTION
                                          : v1::EVIDENCE_KIND_RESOURCE);
          evidence->mutable_description()->set_text(
              "Mid-year reflection with examples from lessons.");
          evidence->add_areas(area);
        }
      }
      // A few interim reviews carry the goal forward in February.
      if (rng_.Chance(0.1)) {
        const absl::Time at = At(RandomDay(2, 20), 16, 15);
        if (Active(index, at) && at > set_at) {
          auto* review = Add<v1::ReviewAppraisalGoalRequest>(
              at, "AppraisalService.ReviewAppraisalGoal", kHrSystem);
          review->mutable_review()->set_goal_id(id);
          review->mutable_review()->set_reviewed_by_staff_id(
              IdOf(ManagerOrHead(index, at)));
          review->mutable_review()->set_outcome(
              v1::GOAL_OUTCOME_CARRIED_FORWARD);
          review->mutable_review()->mutable_note()->set_text(
              "Good progress; continue to the summer review.");
        }
      }
      // The summer review.
      const absl::Time at = At(RandomDay(5, 0, 17), 16, 30 + g);
      if (Active(index, at)) {
        const int reviewer = ManagerOrHead(index, at);
        if (reviewer < 0) continue;
        const double roll = static_cast<double>(rng_.Below(100)) / 100.0;
        const v1::GoalOutcome outcome =
            roll < 0.5    ? v1::GOAL_OUTCOME_MET
            : roll < 0.75 ? v1::GOAL_OUTCOME_PARTLY_MET
            : roll < 0.85 ? v1::GOAL_OUTCOME_NOT_MET
                          : v1::GOAL_OUTCOME_CARRIED_FORWARD;
        auto* review = Add<v1::ReviewAppraisalGoalRequest>(
            at, "AppraisalService.ReviewAppraisalGoal", kHrSystem);
        review->mutable_review()->set_goal_id(id);
        review->mutable_review()->set_reviewed_by_staff_id(IdOf(reviewer));
        review->mutable_review()->set_outcome(outcome);
        review->mutable_review()->mutable_note()->set_text(
            outcome == v1::GOAL_OUTCOME_MET
                ? "Met: consistently seen in observations."
                : "Partly there; agreed next steps for next year.");
      }
    }
  }
}

void Generator::SessionFollowUps() {
  constexpr v1::EvidenceKind kKinds[] = {
      v1::EVIDENCE_KIND_LESSON_SEEN, v1::EVIDENCE_KIND_RESOURCE,
      v1::EVIDENCE_KIND_REFLECTION, v1::EVIDENCE_KIND_PUPIL_WORK};
  for (const Session& session : sessions_) {
    if (!session.due.has_value()) continue;
    const absl::CivilDay held = DayOf(session.held);
    const absl::CivilDay due = DayOf(*session.due);
    for (int attendee : session.attendees) {
      const double roll = static_cast<double>(rng_.Below(100)) / 100.0;
      std::optional<absl::CivilDay> day;
      if (roll < 0.6) {  // On time.
        day = RandomDayBetween(held + 1, due - 1);
      } else if (roll < 0.8) {  // Late.
        day = RandomDayBetween(due + 1, due + 12);
      }  // Otherwise never.
      if (!day.has_value()) continue;
      const absl::Time at = At(*day, 16, 30);
      if (!Active(attendee, at) || at > year_end_) continue;
      auto* request = Add<v1::EvidenceFollowUpRequest>(
          at, "CpdProgrammeService.EvidenceFollowUp", kCpdPlatform);
      v1::FollowUpEvidenced* evidence = request->mutable_follow_up();
      evidence->set_follow_up_id(NextId("fu", &follow_up_count_));
      evidence->set_staff_id(IdOf(attendee));
      evidence->mutable_target()->set_session_id(session.id);
      evidence->set_evidence_kind(rng_.Pick(absl::MakeConstSpan(kKinds)));
      evidence->mutable_description()->set_text(absl::StrCat(
          "Tried it with my classes: ", Label(session.areas.front()),
          " notes and examples attached."));
      for (const std::string& area : session.areas) evidence->add_areas(area);
      if (session.follow_up_mechanisms) {
        evidence->add_mechanisms(rng_.Chance(0.5)
                                     ? v1::MECHANISM_D_ACTION_PLANNING
                                     : v1::MECHANISM_D_SELF_MONITORING);
      }
    }
  }
  // Some observation points are followed up directly.
  for (const ObservationRef& observation : observations_) {
    const std::string& id = observation.id;
    const int observed = observation.observed;
    const std::vector<std::string>& points = observation_points_[id];
    if (points.empty() || !rng_.Chance(0.06)) continue;
    std::optional<absl::CivilDay> day =
        SchoolDaysAfter(DayOf(observation.at), rng_.Between(3, 15));
    if (!day.has_value() || !Active(observed, At(*day, 16, 40))) continue;
    auto* request = Add<v1::EvidenceFollowUpRequest>(
        At(*day, 16, 40), "CpdProgrammeService.EvidenceFollowUp",
        kObservationApp);
    v1::FollowUpEvidenced* evidence = request->mutable_follow_up();
    evidence->set_follow_up_id(NextId("fu", &follow_up_count_));
    evidence->set_staff_id(IdOf(observed));
    evidence->mutable_target()->mutable_observation_point()->set_observation_id(
        id);
    evidence->mutable_target()->mutable_observation_point()->set_area(
        points.front());
    evidence->set_evidence_kind(v1::EVIDENCE_KIND_LESSON_SEEN);
    evidence->mutable_description()->set_text(
        "Follow-up drop-in: the development point is being worked on.");
    evidence->add_areas(points.front());
  }
}

void Generator::NeedsDecisionsEvaluations() {
  const School& lead = schools_.front();
  const int lead_head = lead.head;
  auto view_evidence = [&](v1::EvidenceReference* evidence,
                           absl::string_view view, absl::string_view scope,
                           absl::Time at) {
    evidence->set_view(std::string(view));
    (*evidence->mutable_parameters())["scope"] = std::string(scope);
    (*evidence->mutable_parameters())["from"] =
        Rfc3339(std::max(registered_, at - absl::Hours(24 * 180)));
    (*evidence->mutable_parameters())["to"] = Rfc3339(at);
    evidence->set_summary(absl::StrCat("The ", view, " view for ", scope,
                                       " as it stood when this was recorded"));
  };
  auto at_head = [](v1::EvidenceReference* evidence) {
    return [evidence](uint64_t head) { evidence->set_log_position(head); };
  };
  auto first_observations = [&](absl::string_view area, absl::Time before,
                                size_t count) {
    std::vector<std::string> ids;
    for (const Pending& pending : pending_) {
      const auto* request = dynamic_cast<const v1::RecordObservationRequest*>(
          pending.request.get());
      if (request == nullptr || pending.at >= before) continue;
      for (const std::string& point :
           request->observation().development_points()) {
        if (point == area && ids.size() < count) {
          ids.push_back(request->observation().observation_id());
        }
      }
    }
    return ids;
  };

  // Training needs: a department's, a school's and one person's.
  {
    const School& school = schools_[0];
    const Department& department =
        school.departments[std::min<size_t>(2, school.departments.size() - 1)];
    const absl::Time at = At(RandomDay(1, 5), 16, 0);
    auto* request = Add<v1::IdentifyTrainingNeedRequest>(
        at, "PlanningService.IdentifyTrainingNeed", kPlanningTool);
    v1::TrainingNeedIdentified* need = request->mutable_need();
    need->set_need_id("need-001");
    need->mutable_scope()->set_department_id(department.id);
    need->set_area("send-support");
    need->set_identified_by_staff_id(IdOf(department.head));
    v1::EvidenceReference* evidence = need->add_evidence();
    evidence->set_summary(
        "Drop-ins: pupils with EHC plans waiting for adult help to start");
    for (const std::string& id : first_observations("send-support", at, 4)) {
      evidence->add_record_ids(id);
    }
  }
  for (const School& school : schools_) {
    if (!school.primary) continue;
    const absl::Time at = At(RandomDay(0, 15), 16, 0);
    auto* request = Add<v1::IdentifyTrainingNeedRequest>(
        at, "PlanningService.IdentifyTrainingNeed", kPlanningTool);
    v1::TrainingNeedIdentified* need = request->mutable_need();
    need->set_need_id("need-002");
    need->mutable_scope()->set_school_id(school.id);
    need->set_area("literacy");
    need->set_identified_by_staff_id(IdOf(school.head));
    v1::EvidenceReference* evidence = need->add_evidence();
    view_evidence(evidence, "emergent-needs",
                  absl::StrCat("school:", school.id), at);
    pending_.back().at_head = at_head(evidence);
    break;
  }
  for (size_t i = 0; i < people_.size(); ++i) {
    const Placement& placement = people_[i].placements.front();
    const absl::Time at = At(RandomDay(2, 5), 16, 0);
    if (placement.role != v1::STAFF_ROLE_EARLY_CAREER_TEACHER ||
        !Active(static_cast<int>(i), at)) {
      continue;
    }
    auto* request = Add<v1::IdentifyTrainingNeedRequest>(
        at, "PlanningService.IdentifyTrainingNeed", kPlanningTool);
    v1::TrainingNeedIdentified* need = request->mutable_need();
    need->set_need_id("need-003");
    need->mutable_scope()->set_staff_id(people_[i].id);
    need->set_area("subject-knowledge");
    need->set_identified_by_staff_id(
        IdOf(ManagerOrHead(static_cast<int>(i), at)));
    need->add_evidence()->set_summary(
        "Mentor meetings: gaps in A-level content knowledge");
    break;
  }

  // Decisions, each with the evidence it rested on.
  struct DecisionSpec {
    absl::Time at;
    int by;
    std::string decision, rationale;
    std::vector<std::string> alternatives, areas;
    std::string programme_id, view, scope;
  };
  const absl::Time launch = At(half_terms_[0][4], 9, 30);
  std::vector<DecisionSpec> decisions = {
      {launch,
       lead_head,
       "Launch the trust-wide Responsive teaching programme (six sessions, "
       "follow-up after each)",
       "The trust priority is responsive teaching; one-off INSET last year "
       "left no trace in lessons, so this is a sustained programme with "
       "rehearsal and follow-up built in.",
       {"One INSET day on assessment for learning",
        "Send middle leaders on an external course"},
       {"retrieval-practice", "formative-assessment", "feedback"},
       "prog-responsive-teaching",
       "programme-design",
       "trust"},
      {At(half_terms_[0][9], 9, 30),
       schools_[enquiry_school_].head,
       "Fund a teacher enquiry into adaptive teaching for pupils with SEND",
       "Drop-ins and the SENCO's review show pupils with EHC plans waiting "
       "for adult help; staff want to test scaffolds before adopting them.",
       {"Buy a commercial SEND training package"},
       {"adaptive-teaching", "send-support"},
       "prog-adaptive-enquiry",
       "emergent-needs",
       absl::StrCat("school:", schools_[enquiry_school_].id)},
      {At(half_terms_[2][3], 16, 0),
       lead_head,
       "Continue the Responsive teaching programme into the spring term",
       "Follow-through after the autumn sessions is good and early "
       "observations show retrieval practice becoming routine.",
       {"Pause the programme to free meeting time"},
       {"retrieval-practice", "formative-assessment"},
       "prog-responsive-teaching",
       "follow-through",
       "trust"},
      {At(half_terms_[5][15], 16, 0),
       lead_head,
       "Make questioning the trust's CPD focus next year",
       "Questioning is flagged in observations, learning walks, coaching and "
       "appraisal across all schools, and no session this year covered it.",
       {"Leave it to departments", "One twilight on questioning in September"},
       {kEmergentArea},
       "",
       "emergent-needs",
       "trust"}};
  int decision_count = 0;
  for (const DecisionSpec& spec : decisions) {
    auto* request = Add<v1::RecordCpdDecisionRequest>(
        spec.at, "PlanningService.RecordCpdDecision", kPlanningTool);
    v1::CpdDecisionRecorded* decision = request->mutable_decision();
    decision->set_decision_id(NextId("decision", &decision_count, 2));
    decision->set_decided_by_staff_id(IdOf(spec.by));
    decision->set_decision(spec.decision);
    decision->set_rationale(spec.rationale);
    for (const std::string& alternative : spec.alternatives) {
      decision->add_alternatives_considered(alternative);
    }
    for (const std::string& area : spec.areas) decision->add_areas(area);
    decision->set_programme_id(spec.programme_id);
    v1::EvidenceReference* evidence = decision->add_evidence();
    view_evidence(evidence, spec.view, spec.scope, spec.at);
    pending_.back().at_head = at_head(evidence);
    const std::vector<std::string> cited =
        first_observations(spec.areas.front(), spec.at, 5);
    if (!cited.empty()) {
      v1::EvidenceReference* records = decision->add_evidence();
      records->set_summary("Observations that flagged it");
      for (const std::string& id : cited) records->add_record_ids(id);
    }
  }

  // Impact evaluations.
  struct EvaluationSpec {
    std::string programme_id, session_id;
    v1::EvaluationLevel level;
    absl::Time at;
    std::string finding;
  };
  std::vector<EvaluationSpec> evaluations = {
      {"prog-responsive-teaching", "", v1::EVALUATION_LEVEL_REACTIONS,
       At(half_terms_[1][3], 16, 0),
       "Participants rated the sessions 4.3/5; rehearsal time valued most."},
      {"prog-responsive-teaching", "", v1::EVALUATION_LEVEL_LEARNING,
       At(half_terms_[2][15], 16, 0),
       "Quiz on retrieval and spacing principles: 82% correct, up from 51%."},
      {"prog-responsive-teaching", "",
       v1::EVALUATION_LEVEL_USE_OF_NEW_KNOWLEDGE_AND_SKILLS,
       At(half_terms_[4][18], 16, 0),
       "Retrieval starters seen in 7 of 10 cohort lessons observed this "
       "term."},
      {"prog-responsive-teaching", "", v1::EVALUATION_LEVEL_PUPIL_OUTCOMES,
       At(half_terms_[5][16], 16, 0),
       "End-of-year assessment: cohort classes +4 points on recall items "
       "compared with last year."},
      {"prog-adaptive-enquiry", "", v1::EVALUATION_LEVEL_ORGANISATIONAL_SUPPORT,
       At(half_terms_[3][18], 16, 0),
       "Cover was arranged for every lesson study; two sessions lost to "
       "parents' evenings."},
      {"prog-calm-classrooms", "",
       v1::EVALUATION_LEVEL_USE_OF_NEW_KNOWLEDGE_AND_SKILLS,
       At(half_terms_[3][8], 16, 0),
       "Entry routines consistent in 90% of drop-ins; behaviour points "
       "down 30%."}};
  for (const Session& session : sessions_) {
    if (absl::EndsWith(session.id, "-literacy")) {
      evaluations.push_back(
          {"", session.id, v1::EVALUATION_LEVEL_REACTIONS,
           session.held + absl::Hours(20),
           "Staff found the speaker engaging; few could name a change they "
           "would make."});
      break;
    }
  }
  int evaluation_count = 0;
  for (const EvaluationSpec& spec : evaluations) {
    auto* request = Add<v1::RecordImpactEvaluationRequest>(
        spec.at, "PlanningService.RecordImpactEvaluation", kPlanningTool);
    v1::ImpactEvaluated* evaluation = request->mutable_evaluation();
    evaluation->set_evaluation_id(NextId("evaluation", &evaluation_count, 2));
    evaluation->set_programme_id(spec.programme_id);
    evaluation->set_session_id(spec.session_id);
    evaluation->set_level(spec.level);
    evaluation->set_finding(spec.finding);
    if (spec.level == v1::EVALUATION_LEVEL_USE_OF_NEW_KNOWLEDGE_AND_SKILLS) {
      v1::EvidenceReference* evidence = evaluation->add_evidence();
      view_evidence(evidence, "impact", "trust", spec.at);
      pending_.back().at_head = at_head(evidence);
    }
  }
}

absl::StatusOr<DemoPlan> Generator::Finish() {
  std::stable_sort(
      pending_.begin(), pending_.end(),
      [](const Pending& a, const Pending& b) { return a.at < b.at; });
  DemoPlan plan;
  plan.trust_name = trust_name_;
  plan.academic_year = academic_year_;
  plan.registered_at = registered_;
  uint64_t head = 0;
  const absl::Time latest = std::min(options_.now, year_end_);
  for (size_t i = 0; i < pending_.size(); ++i) {
    Pending& pending = pending_[i];
    if (pending.at < registered_ || pending.at > latest) {
      return absl::InternalError(
          absl::StrCat("demo: call ", i, " (", pending.rpc, ") is dated ",
                       Rfc3339(pending.at), ", outside ", Rfc3339(registered_),
                       " to ", Rfc3339(latest)));
    }
    if (pending.at_head) pending.at_head(head);
    const google::protobuf::Descriptor* type = pending.request->GetDescriptor();
    const google::protobuf::FieldDescriptor* request_id =
        type->FindFieldByName("request_id");
    pending.request->GetReflection()->SetString(
        pending.request.get(), request_id,
        absl::StrFormat("demo-%d-%dx%d-%05d", options_.seed, options_.schools,
                        options_.staff, i + 1));
    head += pending.rpc == "OrganisationService.RegisterTrust"
                ? 1 + kDefaultTaxonomySize
                : 1;
    plan.calls.push_back(
        {pending.rpc,
         std::shared_ptr<google::protobuf::Message>(std::move(pending.request)),
         pending.at, pending.platform});
  }
  plan.expected_head = head;
  return plan;
}

}  // namespace

absl::Status ValidateDemoOptions(const DemoOptions& options) {
  if (options.schools < 1 || options.schools > kMaxSchools) {
    return absl::InvalidArgumentError(
        absl::StrCat("--schools: must be 1 to ", kMaxSchools));
  }
  if (options.staff < kMinStaffPerSchool * options.schools ||
      options.staff > kMaxStaff) {
    return absl::InvalidArgumentError(
        absl::StrCat("--staff: must be ", kMinStaffPerSchool * options.schools,
                     " (", kMinStaffPerSchool, " per school) to ", kMaxStaff));
  }
  return absl::OkStatus();
}

absl::Time DemoRegistrationTime(absl::Time now) {
  const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());
  for (int64_t year = today.year();; --year) {
    const absl::Time start =
        absl::FromCivil(absl::CivilDay(year, 9, 1), absl::UTCTimeZone());
    if (now - start >= absl::Hours(24 * 300)) return start;
  }
}

absl::StatusOr<DemoPlan> GenerateDemo(const DemoOptions& options) {
  if (absl::Status valid = ValidateDemoOptions(options); !valid.ok()) {
    return valid;
  }
  return Generator(options).Run();
}

DemoOutcome SendDemo(const std::shared_ptr<grpc::Channel>& channel,
                     const DemoPlan& plan, const CallMetadata& metadata,
                     absl::Duration timeout) {
  DemoOutcome outcome;
  std::map<std::string, const google::protobuf::MethodDescriptor*> methods;
  for (size_t i = 0; i < plan.calls.size(); ++i) {
    const DemoCall& call = plan.calls[i];
    const google::protobuf::MethodDescriptor*& method = methods[call.rpc];
    if (method == nullptr) {
      absl::StatusOr<const google::protobuf::MethodDescriptor*> found =
          FindCpdMethod(call.rpc, /*recording_only=*/true);
      if (!found.ok()) {
        outcome.failed_call = i;
        outcome.failure = grpc::Status(grpc::StatusCode::INTERNAL,
                                       std::string(found.status().message()));
        return outcome;
      }
      method = *found;
    }
    if (call.request->GetDescriptor() != method->input_type()) {
      outcome.failed_call = i;
      outcome.failure = grpc::Status(
          grpc::StatusCode::INTERNAL,
          absl::StrCat(call.rpc, " takes ", method->input_type()->full_name(),
                       ", not ", call.request->GetDescriptor()->full_name()));
      return outcome;
    }
    grpc::ClientContext context;
    CallMetadata with_platform = metadata;
    if (with_platform.source_platform.empty()) {
      with_platform.source_platform = call.source_platform;
    }
    AddCallMetadata(with_platform, &context);
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    std::unique_ptr<google::protobuf::Message> response =
        NewMessage(*method->output_type());
    grpc::Status status =
        CallUnary(channel, &context, *method, *call.request, response.get());
    if (!status.ok()) {
      outcome.failed_call = i;
      outcome.failure = status;
      return outcome;
    }
    const google::protobuf::Descriptor* type = response->GetDescriptor();
    const google::protobuf::Reflection* reflection = response->GetReflection();
    const bool already = reflection->GetBool(
        *response, type->FindFieldByName("already_applied"));
    const uint64_t last = reflection->GetUInt64(
        *response, type->FindFieldByName("last_position"));
    ++outcome.sent;
    ++(already ? outcome.already_applied : outcome.recorded);
    outcome.last_position = std::max(outcome.last_position, last);
    ++outcome.calls_by_event[PayloadTypeName(*call.request)];
  }
  return outcome;
}

}  // namespace throughline::cli
