#include "tools/cli_json.h"

#include <exception>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace throughline::cli {
namespace {

// ordered_json keeps the field order of the .proto, as json_util wrote it.
using Json = nlohmann::ordered_json;

// Replaces JSON-typed base64 data with its JSON value, recursively.
void InlineJsonData(Json& value) {
  if (value.is_array()) {
    for (Json& element : value) InlineJsonData(element);
    return;
  }
  if (!value.is_object()) return;
  for (Json& member : value) InlineJsonData(member);
  auto content_type = value.find("content_type");
  auto data = value.find("data");
  if (content_type == value.end() || data == value.end() ||
      !content_type->is_string() || !data->is_string() ||
      !IsJsonContentType(content_type->get_ref<const std::string&>())) {
    return;
  }
  std::string decoded;
  if (!absl::Base64Unescape(data->get_ref<const std::string&>(), &decoded)) {
    return;
  }
  Json parsed = Json::parse(decoded, nullptr, /*allow_exceptions=*/false);
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
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string text;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &text, options);
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
  InlineJsonData(json);
  return json.dump(-1, ' ', /*ensure_ascii=*/false,
                   Json::error_handler_t::replace);
}

}  // namespace throughline::cli
