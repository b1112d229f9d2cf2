// procsandbox/export.h: symbol visibility for the procsandbox library.
//
// The library is built with hidden visibility; every public entity carries
// PROCSANDBOX_EXPORT. A static build (the default) defines nothing special. A
// shared build defines PROCSANDBOX_SHARED for users (through the CMake target)
// and PROCSANDBOX_BUILDING while compiling the library itself.
#ifndef PROCSANDBOX_EXPORT_H_
#define PROCSANDBOX_EXPORT_H_

#if defined(PROCSANDBOX_SHARED)
#if defined(_WIN32)
#if defined(PROCSANDBOX_BUILDING)
#define PROCSANDBOX_EXPORT __declspec(dllexport)
#else
#define PROCSANDBOX_EXPORT __declspec(dllimport)
#endif
#else
#define PROCSANDBOX_EXPORT __attribute__((visibility("default")))
#endif
#else
#define PROCSANDBOX_EXPORT
#endif

#endif  // PROCSANDBOX_EXPORT_H_
