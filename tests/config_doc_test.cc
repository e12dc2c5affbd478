// The example config in deploy/ and the options table in
// docs/operations.md document every option the server has, so that an
// option added to services/server_config.cc without documentation fails.

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "services/server_config.h"

namespace throughline::services {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ConfigDocTest, ExampleConfigSetsEveryOptionAfterAComment) {
  const std::string text =
      ReadFile(THROUGHLINE_SOURCE_DIR "/deploy/throughline-server.conf");
  ASSERT_FALSE(text.empty());
  std::set<std::string> documented;
  std::istringstream lines(text);
  std::string line, previous;
  const std::regex setting(R"(^([a-z_]+) =( .*)?$)");
  while (std::getline(lines, line)) {
    std::smatch match;
    if (std::regex_match(line, match, setting)) {
      documented.insert(match[1]);
      EXPECT_EQ(previous.rfind("# ", 0), 0u)
          << match[1] << " has no comment line right above it";
    }
    previous = line;
  }
  std::set<std::string> known;
  for (const OptionHelp& option : DescribeOptions()) {
    known.insert(option.name);
    EXPECT_TRUE(documented.count(option.name))
        << "deploy/throughline-server.conf does not document " << option.name;
  }
  for (const std::string& name : documented) {
    EXPECT_TRUE(known.count(name)) << "unknown option in the example: " << name;
  }
}

TEST(ConfigDocTest, OperationsGuideListsEveryOption) {
  const std::string text =
      ReadFile(THROUGHLINE_SOURCE_DIR "/docs/operations.md");
  ASSERT_FALSE(text.empty());
  for (const OptionHelp& option : DescribeOptions()) {
    EXPECT_NE(text.find("| `" + option.name + "` |"), std::string::npos)
        << "docs/operations.md's options table lacks " << option.name;
  }
}

}  // namespace
}  // namespace throughline::services
