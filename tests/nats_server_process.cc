#include "tests/nats_server_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"

namespace throughline::testing {
namespace {

bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

NatsServerProcess::NatsServerProcess(std::string work_dir)
    : work_dir_(std::move(work_dir)),
      log_path_(work_dir_ + "/nats-server.log") {}

NatsServerProcess::NatsServerProcess(std::string work_dir,
                                     std::string config_file, int port,
                                     std::map<std::string, std::string> env)
    : work_dir_(std::move(work_dir)),
      config_file_(std::move(config_file)),
      env_(std::move(env)),
      log_path_(work_dir_ + "/nats-server.log"),
      port_(port) {}

NatsServerProcess::~NatsServerProcess() {
  if (pid_ > 0) Kill();
}

std::string NatsServerProcess::Binary() {
  for (const char* path : {"/usr/sbin/nats-server", "/usr/bin/nats-server",
                           "/usr/local/bin/nats-server"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

int NatsServerProcess::FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string NatsServerProcess::url() const {
  return absl::StrCat("nats://127.0.0.1:", port_);
}

std::string NatsServerProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool NatsServerProcess::Start() {
  const std::string binary = Binary();
  if (binary.empty()) {
    ADD_FAILURE() << "nats-server is not installed (apt-get install "
                     "nats-server)";
    return false;
  }
  if (config_file_.empty()) {
    if (port_ == 0) port_ = FreePort();
    config_file_ = work_dir_ + "/nats-server.conf";
    std::ofstream config(config_file_, std::ios::trunc);
    config << "# Written by the test: loopback only, JetStream on.\n"
           << "host: 127.0.0.1\n"
           << "port: " << port_ << "\n"
           << "server_name: throughline-test\n"
           << "jetstream {\n"
           << "  store_dir: \"" << work_dir_ << "/jetstream\"\n"
           << "  max_memory_store: 64MB\n"
           << "  max_file_store: 1GB\n"
           << "}\n";
  }
  std::ofstream(log_path_, std::ios::app)
      << "---- start (port " << port_ << ")\n";
  const size_t log_start = Log().size();
  pid_ = fork();
  if (pid_ == 0) {
    FILE* log = std::freopen(log_path_.c_str(), "a", stderr);
    if (log == nullptr) _exit(127);
    dup2(fileno(stderr), fileno(stdout));
    for (const auto& [name, value] : env_) {
      setenv(name.c_str(), value.c_str(), 1);
    }
    std::vector<std::string> args = {binary, "-c", config_file_};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  for (int i = 0; i < 300; ++i) {
    const std::string log = Log();
    if (log.size() > log_start &&
        absl::StrContains(log.substr(log_start), "Server is ready") &&
        Accepts(port_)) {
      return true;
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "nats-server exited during start: " << log;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "nats-server did not become ready: " << Log();
  Kill();
  return false;
}

void NatsServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void NatsServerProcess::Terminate() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::vector<std::unique_ptr<NatsServerProcess>> DeployCluster(
    const std::string& deploy_dir, const std::string& work_dir) {
  std::vector<std::pair<std::string, std::string>> ports;  // fixed -> free
  for (int i = 0; i < 3; ++i) {
    ports.emplace_back(absl::StrCat(14222 + i),
                       absl::StrCat(NatsServerProcess::FreePort()));
    ports.emplace_back(absl::StrCat(16222 + i),
                       absl::StrCat(NatsServerProcess::FreePort()));
  }
  std::vector<std::unique_ptr<NatsServerProcess>> nodes;
  for (int i = 1; i <= 3; ++i) {
    const std::string dir = absl::StrCat(work_dir, "/n", i);
    std::filesystem::create_directories(dir);
    std::ifstream in(absl::StrCat(deploy_dir, "/n", i, ".conf"));
    std::stringstream text;
    text << in.rdbuf();
    std::string config = text.str();
    EXPECT_FALSE(config.empty()) << deploy_dir << "/n" << i << ".conf";
    for (const auto& [fixed, free] : ports) {
      config = absl::StrReplaceAll(config, {{fixed, free}});
    }
    const std::string config_file = dir + "/node.conf";
    std::ofstream(config_file, std::ios::trunc) << config;
    int port = 0;
    EXPECT_TRUE(absl::SimpleAtoi(ports[2 * (i - 1)].second, &port));
    nodes.push_back(std::make_unique<NatsServerProcess>(
        dir, config_file, port,
        std::map<std::string, std::string>{
            {"THROUGHLINE_NATS_STORE", dir + "/store"}}));
  }
  return nodes;
}

}  // namespace throughline::testing
