#include "tools/cli_json.h"

#include <exception>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace throughline::cli {
namespace {

// ordered_json keeps the field order of the .proto, as json_util wrote it.
using Json = nlohmann::ordered_json;

google::protobuf::util::JsonPrintOptions PrintOptions() {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  return options;
}

// `bytes` decoded as a message of type `type_name` from the generated
// descriptor pool, in protobuf's JSON mapping; discarded JSON when the type
// is not compiled in or the bytes do not parse as it.
Json DecodeProtobuf(const std::string& type_name, const std::string& bytes) {
  const google::protobuf::Descriptor* type =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
          type_name);
  if (type == nullptr) return Json(Json::value_t::discarded);
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type);
  if (prototype == nullptr) return Json(Json::value_t::discarded);
  std::unique_ptr<google::protobuf::Message> message(prototype->New());
  if (!message->ParseFromString(bytes)) return Json(Json::value_t::discarded);
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(*message, &text,
                                                   PrintOptions())
           .ok()) {
    return Json(Json::value_t::discarded);
  }
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

// Replaces the base64 data of JSON and compiled-in protobuf content types
// with its JSON value, recursively.
void InlineData(Json& value) {
  if (value.is_array()) {
    for (Json& element : value) InlineData(element);
    return;
  }
  if (!value.is_object()) return;
  for (Json& member : value) InlineData(member);
  auto content_type = value.find("content_type");
  auto data = value.find("data");
  if (content_type == value.end() || data == value.end() ||
      !content_type->is_string() || !data->is_string()) {
    return;
  }
  const std::string& type = content_type->get_ref<const std::string&>();
  const bool json = IsJsonContentType(type);
  const std::optional<std::string> proto = ProtobufContentTypeMessage(type);
  if (!json && !proto.has_value()) return;
  std::string decoded;
  if (!absl::Base64Unescape(data->get_ref<const std::string&>(), &decoded)) {
    return;
  }
  Json parsed = json ? Json::parse(decoded, nullptr,
                                   /*allow_exceptions=*/false)
                     : DecodeProtobuf(*proto, decoded);
  if (parsed.is_discarded()) return;
  *data = std::move(parsed);
}

}  // namespace

bool IsJsonContentType(absl::string_view content_type) {
  const size_t semicolon = content_type.find(';');
  if (semicolon != absl::string_view::npos) {
    content_type = content_type.substr(0, semicolon);
  }
  const std::string media_type =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(content_type));
  const size_t slash = media_type.find('/');
  if (slash == std::string::npos || slash == 0) return false;
  return media_type == "application/json" ||
         (absl::EndsWith(media_type, "+json") &&
          media_type.size() > slash + 1 + 5);
}

std::optional<std::string> ProtobufContentTypeMessage(
    absl::string_view content_type) {
  std::vector<absl::string_view> parts = absl::StrSplit(content_type, ';');
  const std::string media_type =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(parts[0]));
  if (media_type != "application/x-protobuf" &&
      media_type != "application/protobuf") {
    return std::nullopt;
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    absl::string_view parameter = absl::StripAsciiWhitespace(parts[i]);
    const size_t equals = parameter.find('=');
    if (equals == absl::string_view::npos) continue;
    const std::string name = absl::AsciiStrToLower(
        absl::StripAsciiWhitespace(parameter.substr(0, equals)));
    if (name != "proto") continue;
    absl::string_view value =
        absl::StripAsciiWhitespace(parameter.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (value.empty()) return std::nullopt;
    return std::string(value);
  }
  return std::nullopt;
}

absl::Status ValidateJson(absl::string_view text) {
  try {
    Json parsed = Json::parse(text.begin(), text.end());
  } catch (const std::exception& e) {
    // e.what() reads like "[json.exception.parse_error.101] parse error at
    // line 1, column 2: ..."; the bracketed id means nothing to a user.
    absl::string_view what = e.what();
    const size_t id_end = what.find("] ");
    if (absl::StartsWith(what, "[") && id_end != absl::string_view::npos) {
      what.remove_prefix(id_end + 2);
    }
    return absl::InvalidArgumentError(what);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> MessageToJsonLine(
    const google::protobuf::Message& message) {
  std::string text;
  const auto status = google::protobuf::util::MessageToJsonString(
      message, &text, PrintOptions());
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot render ", message.GetDescriptor()->full_name(),
                     " as JSON: ", status.ToString()));
  }
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return absl::InternalError(
        absl::StrCat("json_util produced invalid JSON: ", text));
  }
  InlineData(json);
  return json.dump(-1, ' ', /*ensure_ascii=*/false,
                   Json::error_handler_t::replace);
}

}  // namespace throughline::cli
