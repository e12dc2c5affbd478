// CliProcess: the `throughline` binary (THROUGHLINE_CLI_PATH, defined by
// the test target) run as a subprocess with its stdin, stdout and stderr on
// pipes, for the CLI's end-to-end tests. Header-only: each test target
// defines THROUGHLINE_CLI_PATH.

#ifndef THROUGHLINE_TESTS_CLI_PROCESS_H_
#define THROUGHLINE_TESTS_CLI_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

extern char** environ;

namespace throughline::testing {

// How long a subprocess may take before the test gives up on it.
constexpr auto kPatience = std::chrono::seconds(60);

struct Result {
  int exit_code = -1;  // -1 when it did not exit normally.
  std::string out;
  std::string err;
};

// A running CLI process with its stdin, stdout and stderr on pipes.
class CliProcess {
 public:
  // Starts the CLI with `args`, the test's environment minus THROUGHLINE_*
  // plus `env` ("NAME=value"), and `input` on stdin.
  CliProcess(const std::vector<std::string>& args,
             const std::vector<std::string>& env, const std::string& input) {
    std::vector<std::string> argv_strings = {THROUGHLINE_CLI_PATH};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<std::string> env_strings;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      if (!absl::StartsWith(*entry, "THROUGHLINE_")) {
        env_strings.push_back(*entry);
      }
    }
    env_strings.insert(env_strings.end(), env.begin(), env.end());
    std::vector<char*> argv, envp;
    for (std::string& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    for (std::string& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);

    int in[2], out[2], err[2];
    EXPECT_EQ(pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    // A clean slate of signals, whatever gRPC did to this process.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const int spawned = posix_spawn(&pid_, argv[0], &actions, &attributes,
                                    argv.data(), envp.data());
    EXPECT_EQ(spawned, 0) << "posix_spawn: " << std::strerror(spawned);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    // Small inputs fit in the pipe, so this cannot block for long.
    size_t written = 0;
    while (written < input.size()) {
      ssize_t n = write(in[1], input.data() + written, input.size() - written);
      if (n <= 0) break;
      written += static_cast<size_t>(n);
    }
    close(in[1]);
  }

  ~CliProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }

  // The next line of stdout without its newline; nullopt at end of output or
  // when none came within kPatience.
  std::optional<std::string> ReadLine() {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (true) {
      const size_t newline = out_.find('\n', out_pos_);
      if (newline != std::string::npos) {
        std::string line = out_.substr(out_pos_, newline - out_pos_);
        out_pos_ = newline + 1;
        return line;
      }
      if (out_fd_ < 0 || !Pump(deadline)) return std::nullopt;
    }
  }

  void Signal(int signal_number) { kill(pid_, signal_number); }

  // Waits for the process to end, collecting the rest of its output. Kills
  // it and fails the test if it takes longer than kPatience.
  Result Wait() {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while ((out_fd_ >= 0 || err_fd_ >= 0) && Pump(deadline)) {
    }
    Result result;
    int status = 0;
    while (true) {
      const pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) break;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "the CLI did not exit; killing it";
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    result.out = out_.substr(out_pos_);
    result.err = err_;
    return result;
  }

 private:
  // Reads whatever stdout and stderr have; false once both are closed or the
  // deadline passed.
  bool Pump(std::chrono::steady_clock::time_point deadline) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ADD_FAILURE() << "no output from the CLI in time";
      return false;
    }
    const int ready = poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) return true;
    if (ready <= 0) {
      ADD_FAILURE() << "no output from the CLI in time";
      return false;
    }
    ReadReady(fds[0], &out_fd_, &out_);
    ReadReady(fds[1], &err_fd_, &err_);
    return out_fd_ >= 0 || err_fd_ >= 0;
  }

  static void ReadReady(const pollfd& polled, int* fd, std::string* into) {
    if (*fd < 0 || polled.revents == 0) return;
    char buffer[4096];
    const ssize_t n = read(*fd, buffer, sizeof(buffer));
    if (n > 0) {
      into->append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      close(*fd);
      *fd = -1;
    }
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  size_t out_pos_ = 0;
  std::string err_;
};

}  // namespace throughline::testing

#endif  // THROUGHLINE_TESTS_CLI_PROCESS_H_
