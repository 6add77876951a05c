// ktc/core/isolated.hpp - run a function that may crash on hostile input in a child process.
//
// ktc checks what it reads itself, but it also hands models to third-party code it cannot fix:
// the onnx library's checker and shape inference (1.12 in Debian 12) dereference missing inputs
// and index past the rank of malformed tensors. Run in a forked child, such a crash (or a hang,
// or an allocation past the memory limit) becomes an error the caller reports, instead of the
// end of the process. The child shares nothing back but the bytes the function returns.
#pragma once

#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>
#include <string>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktc/core/error.hpp"

namespace ktc {

// The outcome of an isolated call: the function's bytes, the message of what it threw, or why
// the child ended without finishing (a signal, the time limit).
struct isolated_result {
    enum class status { returned, threw, crashed } status = status::crashed;
    std::string bytes;  // returned: the function's result; threw: the exception's message
    std::string why;    // crashed: what ended the child, in words
};

// Runs `fn` in a forked child and returns what it produced. Call it from a single-threaded
// point (model import is one); the child exits with _exit, running no destructors.
inline isolated_result run_isolated(const std::function<std::string()>& fn, unsigned cpu_seconds = 120) {
    int fds[2];
    if (::pipe(fds) != 0) throw error(std::string("cannot create a pipe: ") + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]), ::close(fds[1]);
        throw error(std::string("cannot fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::close(fds[0]);
        // Die quietly on a fault: the parent reports it (sanitizer runtimes would print reports).
        for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(s, SIG_DFL);
        const rlimit cpu{cpu_seconds, cpu_seconds + 1};  // a hang ends as SIGXCPU
        ::setrlimit(RLIMIT_CPU, &cpu);
        std::string message(1, 'E');
        try {
            message = 'R' + fn();
        } catch (const std::exception& e) {
            message += e.what();
        } catch (...) {
            message += "unknown exception";
        }
        for (std::size_t at = 0; at < message.size();) {
            const ssize_t n = ::write(fds[1], message.data() + at, message.size() - at);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) ::_exit(2);
            at += static_cast<std::size_t>(n);
        }
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string received;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        received.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    isolated_result r;
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 && !received.empty()) {
        r.status = received[0] == 'R' ? isolated_result::status::returned : isolated_result::status::threw;
        r.bytes = received.substr(1);
    } else if (WIFSIGNALED(wstatus)) {
        const int s = WTERMSIG(wstatus);
        r.why =
            s == SIGXCPU || s == SIGKILL ? "ran past its time limit" : std::string("crashed (") + ::strsignal(s) + ")";
    } else {
        r.why = "exited unexpectedly (status " + std::to_string(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1) + ")";
    }
    return r;
}

}  // namespace ktc
