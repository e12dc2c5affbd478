// OrganisationService: the trust, its schools and departments, and its
// development-area taxonomy. Every event goes to the trust's "organisation"
// stream: the organisation changes rarely, and one stream keeps its history
// in one ordered place.

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "eventstore/errors.h"
#include "services/cpd/checks.h"
#include "services/cpd/default_taxonomy.h"
#include "services/cpd/silo_services.h"

namespace throughline::services::cpd {
namespace {

using eventstore::FieldError;
using eventstore::InvalidField;

constexpr char kStream[] = "organisation";

absl::Status CheckAreaCode(const std::string& code, absl::string_view field) {
  if (code.empty() || code.size() > kMaxIdLength) {
    return InvalidField(
        field, absl::StrCat("must be 1-", kMaxIdLength, " characters"));
  }
  for (char c : code) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '-') {
      return InvalidField(field, absl::StrCat("\"", code,
                                              "\" may hold only lowercase "
                                              "letters, digits and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::Status Taken(absl::string_view field, absl::string_view what) {
  return FieldError(absl::StatusCode::kAlreadyExists, field, what);
}

Decision OneEvent(v1::CpdEvent event) {
  Decision decision;
  decision.stream = kStream;
  decision.events.push_back(std::move(event));
  return decision;
}

}  // namespace

grpc::Status OrganisationService::RegisterTrust(
    grpc::ServerContext* context, const v1::RegisterTrustRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::TrustRegistered& trust = request->trust();
        if (state.registered()) {
          return FieldError(absl::StatusCode::kFailedPrecondition, "tenant",
                            "this trust is already registered");
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckText(trust.name(), kMaxNameLength,
                                              "trust.name", /*required=*/true));
        if (trust.emergent_min_uncovered_percent() > 100) {
          return InvalidField("trust.emergent_min_uncovered_percent",
                              "must be at most 100");
        }
        Decision decision;
        decision.stream = kStream;
        decision.expected = eventstore::ExpectedRevision::NoStream();
        *decision.events.emplace_back().mutable_trust_registered() = trust;
        for (const DefaultArea& area : kDefaultTaxonomy) {
          v1::DevelopmentAreaAdded* added =
              decision.events.emplace_back().mutable_development_area_added();
          added->set_code(area.code);
          added->set_label(area.label);
          added->set_description(area.description);
        }
        return decision;
      },
      response, /*for_unregistered_trust=*/true);
}

grpc::Status OrganisationService::AddSchool(grpc::ServerContext* context,
                                            const v1::AddSchoolRequest* request,
                                            v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::SchoolAdded& school = request->school();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckId(school.school_id(), "school.school_id"));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(
            school.name(), kMaxNameLength, "school.name", /*required=*/true));
        if (state.HasSchool(school.school_id())) {
          return Taken("school.school_id",
                       absl::StrCat("school \"", school.school_id(),
                                    "\" already exists"));
        }
        v1::CpdEvent event;
        *event.mutable_school_added() = school;
        return OneEvent(std::move(event));
      },
      response);
}

grpc::Status OrganisationService::AddDepartment(
    grpc::ServerContext* context, const v1::AddDepartmentRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::DepartmentAdded& department = request->department();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckId(department.department_id(), "department.department_id"));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(department.name(), kMaxNameLength,
                                              "department.name",
                                              /*required=*/true));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckSchool(state, department.school_id(), "department.school_id"));
        if (state.DepartmentSchool(department.department_id()) != nullptr) {
          return Taken("department.department_id",
                       absl::StrCat("department \"", department.department_id(),
                                    "\" already exists"));
        }
        v1::CpdEvent event;
        *event.mutable_department_added() = department;
        return OneEvent(std::move(event));
      },
      response);
}

grpc::Status OrganisationService::AddDevelopmentArea(
    grpc::ServerContext* context, const v1::AddDevelopmentAreaRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::DevelopmentAreaAdded& area = request->area();
        THROUGHLINE_RETURN_IF_ERROR(CheckAreaCode(area.code(), "area.code"));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(area.label(), kMaxNameLength,
                                              "area.label", /*required=*/true));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(
            area.description(), kMaxDescriptionLength, "area.description"));
        if (state.FindArea(area.code()) != nullptr) {
          return Taken("area.code", absl::StrCat("area code \"", area.code(),
                                                 "\" already exists"));
        }
        v1::CpdEvent event;
        *event.mutable_development_area_added() = area;
        return OneEvent(std::move(event));
      },
      response);
}

grpc::Status OrganisationService::RelabelDevelopmentArea(
    grpc::ServerContext* context,
    const v1::RelabelDevelopmentAreaRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::DevelopmentAreaRelabelled& relabel = request->relabel();
        if (state.FindArea(relabel.code()) == nullptr) {
          return InvalidField(
              "relabel.code",
              absl::StrCat("unknown area code \"", relabel.code(), "\""));
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckText(relabel.label(), kMaxNameLength,
                                              "relabel.label",
                                              /*required=*/true));
        v1::CpdEvent event;
        *event.mutable_development_area_relabelled() = relabel;
        return OneEvent(std::move(event));
      },
      response);
}

grpc::Status OrganisationService::RetireDevelopmentArea(
    grpc::ServerContext* context,
    const v1::RetireDevelopmentAreaRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::DevelopmentAreaRetired& retire = request->retire();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckArea(state, retire.code(), "retire.code"));
        v1::CpdEvent event;
        *event.mutable_development_area_retired() = retire;
        return OneEvent(std::move(event));
      },
      response);
}

grpc::Status OrganisationService::ListDevelopmentAreas(
    grpc::ServerContext* context,
    const v1::ListDevelopmentAreasRequest* request,
    v1::ListDevelopmentAreasResponse* response) {
  return runner_->Read(*context, [response](const TrustState& state) {
    if (!state.registered()) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "tenant: this trust is not registered");
    }
    for (const projections::Area& area : state.areas()) {
      auto* out = response->add_areas();
      out->set_code(area.code);
      out->set_label(area.label);
      out->set_description(area.description);
      out->set_retired(area.retired);
    }
    return grpc::Status::OK;
  });
}

}  // namespace throughline::services::cpd
