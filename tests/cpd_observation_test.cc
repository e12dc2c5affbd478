// ObservationService rules: RecordObservation and RecordLearningWalk.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cpd_fixture.h"

namespace throughline::testing {
namespace {

using ::testing::StartsWith;

class ObservationTest : public CpdFixture {
 protected:
  void AddServices(services::cpd::CommandRunner* runner,
                   std::vector<std::unique_ptr<grpc::Service>>* out) override {
    out->push_back(std::make_unique<services::cpd::ObservationService>(runner));
  }

  void SetUp() override {
    CpdFixture::SetUp();
    if (HasFatalFailure()) return;
    SeedTrust();
    observation_ = cpd::ObservationService::NewStub(channel());
  }

  // `days` days after the trust was registered.
  static absl::Time Day(int days) {
    return RegisteredAt() + absl::Hours(24 * days);
  }

  // A valid observation of t1 by t2 on day 10.
  static cpd::RecordObservationRequest Observation(const std::string& id) {
    cpd::RecordObservationRequest request;
    request.set_request_id(NewRequestId());
    SetTime(Day(10), request.mutable_occurred_at());
    cpd::ObservationRecorded* observation = request.mutable_observation();
    observation->set_observation_id(id);
    observation->set_observed_staff_id("t1");
    observation->set_observer_staff_id("t2");
    observation->set_kind(cpd::OBSERVATION_KIND_FORMAL);
    observation->add_strengths("questioning");
    observation->add_development_points("behaviour");
    observation->add_development_points("feedback");
    cpd::AreaRating* rating = observation->add_ratings();
    rating->set_area("questioning");
    rating->set_rating(3);
    observation->mutable_notes()->set_text("Strong cold-calling.");
    return request;
  }

  // A valid learning walk of north-maths on day 10.
  static cpd::RecordLearningWalkRequest Walk(const std::string& id) {
    cpd::RecordLearningWalkRequest request;
    request.set_request_id(NewRequestId());
    SetTime(Day(10), request.mutable_occurred_at());
    cpd::LearningWalkRecorded* walk = request.mutable_walk();
    walk->set_walk_id(id);
    walk->set_school_id("north");
    walk->set_department_id("north-maths");
    walk->add_strengths("explanation-and-modelling");
    walk->add_development_points("retrieval-practice");
    walk->set_lessons_seen(6);
    return request;
  }

  grpc::Status Record(const cpd::RecordObservationRequest& request,
                      cpd::RecordResponse* response = nullptr) {
    cpd::RecordResponse ignored;
    return observation_->RecordObservation(
        Context().get(), request, response != nullptr ? response : &ignored);
  }

  grpc::Status Record(const cpd::RecordLearningWalkRequest& request,
                      cpd::RecordResponse* response = nullptr) {
    cpd::RecordResponse ignored;
    return observation_->RecordLearningWalk(
        Context().get(), request, response != nullptr ? response : &ignored);
  }

  std::unique_ptr<cpd::ObservationService::Stub> observation_;
};

// ---------------------------------------------------------------- Observations

TEST_F(ObservationTest, RecordsAnObservationOnce) {
  const auto request = Observation("obs-1");
  ExpectRecordedOnceThenRetried(
      [&](cpd::RecordResponse* response) { return Record(request, response); });
}

TEST_F(ObservationTest, StrengthsDevelopmentPointsAndRatingsAreOptional) {
  auto request = Observation("strengths-only");
  request.mutable_observation()->clear_development_points();
  request.mutable_observation()->clear_ratings();
  request.mutable_observation()->clear_notes();
  grpc::Status status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();

  request = Observation("points-only");
  request.mutable_observation()->clear_strengths();
  request.mutable_observation()->set_kind(cpd::OBSERVATION_KIND_VIDEO);
  status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();

  // Unset occurred_at means now.
  request = Observation("now");
  request.clear_occurred_at();
  request.mutable_observation()->set_kind(cpd::OBSERVATION_KIND_DROP_IN);
  status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(ObservationTest, IdsAreChecked) {
  ASSERT_TRUE(Record(Observation("obs-1")).ok());
  const uint64_t head = Head();
  ExpectRefused(Record(Observation("")), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.observation_id", head);
  ExpectRefused(Record(Observation("obs 2")),
                grpc::StatusCode::INVALID_ARGUMENT,
                "observation.observation_id", head);
  ExpectRefused(Record(Observation(std::string(65, 'x'))),
                grpc::StatusCode::INVALID_ARGUMENT,
                "observation.observation_id", head);
  // The same observation id under a new request id.
  ExpectRefused(Record(Observation("obs-1")), grpc::StatusCode::ALREADY_EXISTS,
                "observation.observation_id", head);
}

TEST_F(ObservationTest, RequestIdsAreChecked) {
  auto request = Observation("obs-1");
  ASSERT_TRUE(Record(request).ok());
  const uint64_t head = Head();
  // The same request id for a different request.
  request.mutable_observation()->set_observation_id("obs-2");
  ExpectRefused(Record(request), grpc::StatusCode::ALREADY_EXISTS, "request_id",
                head);
  request.clear_request_id();
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "request_id", head);
}

TEST_F(ObservationTest, TrustAndOccurredAtAreChecked) {
  const uint64_t head = Head();
  auto request = Observation("obs-1");
  SetTime(RegisteredAt() - absl::Seconds(1), request.mutable_occurred_at());
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "occurred_at", head);
  SetTime(absl::Now() + absl::Hours(25), request.mutable_occurred_at());
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "occurred_at", head);

  cpd::RecordResponse response;
  grpc::Status status = observation_->RecordObservation(
      Context("other-trust").get(), Observation("obs-1"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ViolatedField(status), "tenant");
  EXPECT_EQ(Head("other-trust"), 0u);
  EXPECT_EQ(Head(), head);
}

TEST_F(ObservationTest, KindMustBeSet) {
  const uint64_t head = Head();
  auto request = Observation("obs-1");
  request.mutable_observation()->clear_kind();
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.kind", head);
  request.mutable_observation()->set_kind(
      static_cast<cpd::ObservationKind>(99));
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.kind", head);
}

TEST_F(ObservationTest, AreasAreChecked) {
  const uint64_t head = Head();
  auto request = Observation("obs-1");
  request.mutable_observation()->set_strengths(0, "questionning");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.strengths[0]", head);

  request = Observation("obs-1");
  request.mutable_observation()->add_development_points("nonsense");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.development_points[2]", head);

  request = Observation("obs-1");
  request.mutable_observation()->add_development_points("");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.development_points[2]", head);

  request = Observation("obs-1");
  request.mutable_observation()->add_development_points("behaviour");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.development_points[2]", head);

  request = Observation("obs-1");
  request.mutable_observation()->clear_strengths();
  request.mutable_observation()->clear_development_points();
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.development_points", head);

  request = Observation("obs-1");
  for (int i = 0; i <= 500; ++i) {
    request.mutable_observation()->add_strengths(absl::StrCat("area-", i));
  }
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.strengths", head);
}

TEST_F(ObservationTest, RetiredAreasAreRefusedFromThenOn) {
  auto request = Observation("before-retiring");
  request.mutable_observation()->add_development_points("literacy");
  ASSERT_TRUE(Record(request).ok());
  RetireArea("literacy");

  const uint64_t head = Head();
  request = Observation("after-retiring");
  request.mutable_observation()->add_development_points("literacy");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.development_points[2]", head);
  request = Observation("after-retiring");
  request.mutable_observation()->set_strengths(0, "literacy");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.strengths[0]", head);
  request = Observation("after-retiring");
  request.mutable_observation()->mutable_ratings(0)->set_area("literacy");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.ratings[0].area", head);
}

TEST_F(ObservationTest, RatingsAreChecked) {
  const uint64_t head = Head();
  auto request = Observation("obs-1");
  request.mutable_observation()->mutable_ratings(0)->set_rating(0);
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.ratings[0].rating", head);

  request = Observation("obs-1");
  cpd::AreaRating* rating = request.mutable_observation()->add_ratings();
  rating->set_area("behaviour");
  rating->set_rating(5);
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.ratings[1].rating", head);
  rating->set_rating(-1);
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.ratings[1].rating", head);

  rating->set_rating(2);
  rating->set_area("not-an-area");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.ratings[1].area", head);
  rating->set_area("");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.ratings[1].area", head);

  // Two ratings of one area.
  rating->set_area("questioning");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.ratings[1].area", head);

  // The bounds are allowed, and a rated area need not be a strength or point.
  rating->set_area("subject-knowledge");
  rating->set_rating(4);
  request.mutable_observation()->mutable_ratings(0)->set_rating(1);
  grpc::Status status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(ObservationTest, NotesHaveALimit) {
  const uint64_t head = Head();
  auto request = Observation("obs-1");
  request.mutable_observation()->mutable_notes()->set_text(
      std::string(4001, 'x'));
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.notes.text", head);
  request.mutable_observation()->mutable_notes()->set_text(
      std::string(4000, 'x'));
  grpc::Status status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(ObservationTest, StaffAreChecked) {
  const uint64_t head = Head();
  auto request = Observation("obs-1");
  request.mutable_observation()->set_observed_staff_id("nobody");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "observation.observed_staff_id", head);
  request.mutable_observation()->clear_observed_staff_id();
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.observed_staff_id", head);

  request = Observation("obs-1");
  request.mutable_observation()->set_observer_staff_id("nobody");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "observation.observer_staff_id", head);
  request.mutable_observation()->clear_observer_staff_id();
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.observer_staff_id", head);

  // Nobody observes themself.
  request = Observation("obs-1");
  request.mutable_observation()->set_observer_staff_id("t1");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "observation.observer_staff_id", head);

  // Observed or observing before joining.
  Join("t7", "north", {"north-maths"}, Day(20));
  const uint64_t joined = Head();
  request = Observation("obs-1");
  request.mutable_observation()->set_observed_staff_id("t7");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "observation.observed_staff_id", joined);
  request.mutable_observation()->set_observed_staff_id("t1");
  request.mutable_observation()->set_observer_staff_id("t7");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "observation.observer_staff_id", joined);
  SetTime(Day(20), request.mutable_occurred_at());
  grpc::Status status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(ObservationTest, LeaversAreObservedOnlyUntilTheyLeave) {
  // Observed on day 10, then t1 leaves on day 30.
  ASSERT_TRUE(Record(Observation("before-leaving")).ok());
  Leave("t1", Day(30));

  // An observation from before the leave, recorded later, is still fine.
  auto request = Observation("late-entry");
  SetTime(Day(29), request.mutable_occurred_at());
  grpc::Status status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();

  const uint64_t head = Head();
  request = Observation("after-leaving");
  SetTime(Day(30), request.mutable_occurred_at());
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "observation.observed_staff_id", head);
  SetTime(Day(31), request.mutable_occurred_at());
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "observation.observed_staff_id", head);
  // A leaver observes nobody either.
  request.mutable_observation()->set_observed_staff_id("t2");
  request.mutable_observation()->set_observer_staff_id("t1");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "observation.observer_staff_id", head);
}

// ---------------------------------------------------------------- Learning
// walks

TEST_F(ObservationTest, RecordsALearningWalkOnce) {
  const uint64_t head = Head();
  const cpd::RecordLearningWalkRequest request = Walk("walk-1");
  cpd::RecordResponse first;
  grpc::Status status = Record(request, &first);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(first.already_applied());
  ASSERT_EQ(first.event_ids_size(), 1);
  EXPECT_EQ(first.first_position(), head + 1);
  EXPECT_EQ(Head(), head + 1);

  cpd::RecordResponse again;
  status = Record(request, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.already_applied());
  ASSERT_EQ(again.event_ids_size(), 1);
  EXPECT_EQ(again.event_ids(0), first.event_ids(0));
  EXPECT_EQ(again.first_position(), first.first_position());
  EXPECT_EQ(Head(), head + 1);

  // A whole-school walk, and a walk id may equal an observation id.
  ASSERT_TRUE(Record(Observation("shared-id")).ok());
  auto whole_school = Walk("shared-id");
  whole_school.mutable_walk()->clear_department_id();
  whole_school.mutable_walk()->set_lessons_seen(1);
  status = Record(whole_school);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(ObservationTest, WalkIdsAreChecked) {
  ASSERT_TRUE(Record(Walk("walk-1")).ok());
  const uint64_t head = Head();
  ExpectRefused(Record(Walk("")), grpc::StatusCode::INVALID_ARGUMENT,
                "walk.walk_id", head);
  ExpectRefused(Record(Walk("walk/2")), grpc::StatusCode::INVALID_ARGUMENT,
                "walk.walk_id", head);
  ExpectRefused(Record(Walk("walk-1")), grpc::StatusCode::ALREADY_EXISTS,
                "walk.walk_id", head);
}

TEST_F(ObservationTest, WalkSchoolAndDepartmentAreChecked) {
  const uint64_t head = Head();
  auto request = Walk("walk-1");
  request.mutable_walk()->set_school_id("east");
  request.mutable_walk()->clear_department_id();
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "walk.school_id", head);
  request.mutable_walk()->clear_school_id();
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "walk.school_id", head);

  request = Walk("walk-1");
  request.mutable_walk()->set_department_id("south-maths");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "walk.department_id", head);
  request.mutable_walk()->set_department_id("north-science");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "walk.department_id", head);
  request.mutable_walk()->set_department_id("north maths");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "walk.department_id", head);
}

TEST_F(ObservationTest, WalkAreasAndLessonsAreChecked) {
  const uint64_t head = Head();
  auto request = Walk("walk-1");
  request.mutable_walk()->add_strengths("unknown-area");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "walk.strengths[1]", head);
  request = Walk("walk-1");
  request.mutable_walk()->add_development_points("retrieval-practice");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "walk.development_points[1]", head);

  RetireArea("retrieval-practice");
  const uint64_t retired = Head();
  ExpectRefused(Record(Walk("walk-1")), grpc::StatusCode::INVALID_ARGUMENT,
                "walk.development_points[0]", retired);

  request = Walk("walk-1");
  request.mutable_walk()->set_development_points(0, "questioning");
  request.mutable_walk()->set_lessons_seen(0);
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "walk.lessons_seen", retired);
  request.mutable_walk()->set_lessons_seen(1);
  grpc::Status status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace throughline::testing
