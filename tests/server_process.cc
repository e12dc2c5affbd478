#include "tests/server_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace throughline::testing {

ServerProcess::ServerProcess(std::string binary, std::string data_dir,
                             std::vector<std::string> extra_args)
    : binary_(std::move(binary)),
      data_dir_(std::move(data_dir)),
      extra_args_(std::move(extra_args)),
      log_path_(data_dir_ + ".server.log") {}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill();
  std::remove(log_path_.c_str());
}

bool ServerProcess::Start() {
  std::vector<std::string> args = {binary_, "--listen=127.0.0.1:0",
                                   "--data_dir=" + data_dir_};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::ofstream(log_path_, std::ios::trunc).close();
  pid_ = fork();
  if (pid_ == 0) {
    FILE* log = std::freopen(log_path_.c_str(), "w", stderr);
    if (log == nullptr) _exit(127);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const std::regex port_pattern(R"(\(port (\d+)\))");
  for (int i = 0; i < 300; ++i) {
    std::smatch match;
    const std::string log = Log();
    if (std::regex_search(log, match, port_pattern)) {
      port_ = std::stoi(match[1]);
      return true;
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "server exited during start: " << log;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "server did not report its port: " << Log();
  return false;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int ServerProcess::Terminate() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

std::string ServerProcess::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

std::string ServerProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace throughline::testing
