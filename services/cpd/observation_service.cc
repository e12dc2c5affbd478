// ObservationService: lesson observations and learning walks. Each
// observation goes to its own stream "observation-<observation_id>" and each
// learning walk to "learningwalk-<walk_id>": a record is written once and
// never changed, so the record itself is the consistency boundary, and the
// stream's NoStream expectation guards its id.

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "eventstore/errors.h"
#include "services/cpd/checks.h"
#include "services/cpd/silo_services.h"

namespace throughline::services::cpd {
namespace {

using eventstore::FieldError;
using eventstore::InvalidField;

constexpr char kObservationCategory[] = "observation";
constexpr char kWalkCategory[] = "learningwalk";
constexpr int kMinRating = 1;
constexpr int kMaxRating = 4;

absl::Status Taken(absl::string_view field, absl::string_view what) {
  return FieldError(absl::StatusCode::kAlreadyExists, field, what);
}

// Ratings: each of a valid area, 1-4, at most one per area.
absl::Status CheckRatings(
    const TrustState& state,
    const google::protobuf::RepeatedPtrField<v1::AreaRating>& ratings,
    absl::string_view field) {
  THROUGHLINE_RETURN_IF_ERROR(CheckListLength(ratings.size(), field));
  absl::flat_hash_set<std::string> rated;
  for (int i = 0; i < ratings.size(); ++i) {
    const v1::AreaRating& rating = ratings[i];
    const std::string area_field = absl::StrCat(field, "[", i, "].area");
    THROUGHLINE_RETURN_IF_ERROR(CheckArea(state, rating.area(), area_field));
    if (!rated.insert(rating.area()).second) {
      return InvalidField(area_field, absl::StrCat("area \"", rating.area(),
                                                   "\" is rated twice"));
    }
    if (rating.rating() < kMinRating || rating.rating() > kMaxRating) {
      return InvalidField(
          absl::StrCat(field, "[", i, "].rating"),
          absl::StrCat(rating.rating(), " is not a rating from ", kMinRating,
                       " to ", kMaxRating));
    }
  }
  return absl::OkStatus();
}

Decision Create(absl::string_view category, const std::string& id,
                v1::CpdEvent event) {
  Decision decision;
  decision.stream = StreamFor(category, id);
  decision.expected = eventstore::ExpectedRevision::NoStream();
  decision.events.push_back(std::move(event));
  return decision;
}

}  // namespace

grpc::Status ObservationService::RecordObservation(
    grpc::ServerContext* context, const v1::RecordObservationRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time at) -> absl::StatusOr<Decision> {
        const v1::ObservationRecorded& observation = request->observation();
        THROUGHLINE_RETURN_IF_ERROR(CheckId(observation.observation_id(),
                                            "observation.observation_id"));
        if (state.FindObservation(observation.observation_id()) != nullptr) {
          return Taken(
              "observation.observation_id",
              absl::StrCat("observation \"", observation.observation_id(),
                           "\" already exists"));
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckEnum(
            observation.kind(), v1::ObservationKind_IsValid(observation.kind()),
            "observation.kind"));
        THROUGHLINE_RETURN_IF_ERROR(CheckAreas(state, observation.strengths(),
                                               "observation.strengths",
                                               /*required=*/false));
        THROUGHLINE_RETURN_IF_ERROR(CheckAreas(state,
                                               observation.development_points(),
                                               "observation.development_points",
                                               /*required=*/false));
        if (observation.strengths().empty() &&
            observation.development_points().empty()) {
          return InvalidField("observation.development_points",
                              "an observation needs at least one strength or "
                              "development point");
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckRatings(state, observation.ratings(), "observation.ratings"));
        if (observation.confidential() &&
            observation.kind() != v1::OBSERVATION_KIND_PEER) {
          return InvalidField("observation.confidential",
                              "only a peer observation can be confidential");
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckText(observation.notes().text(),
                                              kMaxLongTextLength,
                                              "observation.notes.text"));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckStaffActive(state, observation.observed_staff_id(), at,
                             "observation.observed_staff_id"));
        if (observation.observer_staff_id() ==
            observation.observed_staff_id()) {
          return InvalidField("observation.observer_staff_id",
                              "a staff member cannot observe themself");
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckStaffActive(state, observation.observer_staff_id(), at,
                             "observation.observer_staff_id"));
        v1::CpdEvent event;
        *event.mutable_observation_recorded() = observation;
        return Create(kObservationCategory, observation.observation_id(),
                      std::move(event));
      },
      response);
}

grpc::Status ObservationService::RecordLearningWalk(
    grpc::ServerContext* context, const v1::RecordLearningWalkRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::LearningWalkRecorded& walk = request->walk();
        THROUGHLINE_RETURN_IF_ERROR(CheckId(walk.walk_id(), "walk.walk_id"));
        if (state.IdUsed("walk", walk.walk_id())) {
          return Taken("walk.walk_id",
                       absl::StrCat("learning walk \"", walk.walk_id(),
                                    "\" already exists"));
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckSchool(state, walk.school_id(), "walk.school_id"));
        if (!walk.department_id().empty()) {
          THROUGHLINE_RETURN_IF_ERROR(
              CheckDepartment(state, walk.department_id(), walk.school_id(),
                              "walk.department_id"));
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckAreas(
            state, walk.strengths(), "walk.strengths", /*required=*/false));
        THROUGHLINE_RETURN_IF_ERROR(CheckAreas(state, walk.development_points(),
                                               "walk.development_points",
                                               /*required=*/false));
        if (walk.lessons_seen() < 1) {
          return InvalidField("walk.lessons_seen", "must be at least 1");
        }
        v1::CpdEvent event;
        *event.mutable_learning_walk_recorded() = walk;
        return Create(kWalkCategory, walk.walk_id(), std::move(event));
      },
      response);
}

}  // namespace throughline::services::cpd
