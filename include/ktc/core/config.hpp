// ktc/core/config.hpp - header-only by default, or each heavy definition compiled once.
//
// Whoever embeds ktc includes its headers and links nothing of ktc's own: every function is
// defined in a header. ktc's own drivers, tests and benchmarks instead define
// KTC_SEPARATE_COMPILATION on every translation unit and link src/ktc.cpp, which compiles the
// heavy definitions (the kernel tables, which take the address of every kernel) exactly once, as
// Boost.Asio's separate compilation does. A header with such a definition declares it with
// KTC_DECL and keeps the body in an `.ipp` file beside it, included here only when header-only.
#pragma once

#if defined(KTC_SEPARATE_COMPILATION)
#define KTC_HEADER_ONLY 0
#define KTC_DECL
#else
#define KTC_HEADER_ONLY 1
#define KTC_DECL inline
#endif
