# Go test programs (tests/go/NAME: main.go and friends, go.mod, stdlib only),
# built with the system's Go toolchain (Debian: golang-go) into the build
# tree, in the variants `vmseal run` treats differently:
#   static        CGO_ENABLED=0: statically linked by Go's linker, no RELRO
#   pie           CGO_ENABLED=0 -buildmode=pie: Go's linker makes a PIE that
#                 ld.so loads (PT_INTERP, no DT_NEEDED), with a PT_GNU_RELRO
#   cgo           CGO_ENABLED=1 -ldflags=-linkmode=external: linked by gcc,
#                 glibc's _start, libc.so.6: the preload's way
#   cgo-internal  CGO_ENABLED=1, Go's internal linker: libc.so.6 but the Go
#                 runtime's own entry (what `run` cannot seal)
# Nothing is fetched: GOPROXY=off, GOFLAGS=-mod=mod is not needed (no
# dependencies), the module cache and build cache live in the build tree.
# Without go, vmseal_go_program sets the output variable to "" and the tests
# that need it skip (exit 77 / GTEST_SKIP) saying so.
find_program(VMSEAL_GO go)
if(VMSEAL_GO)
  message(STATUS "Go test programs: ${VMSEAL_GO}")
else()
  message(STATUS "Go test programs: go not found (Debian: golang-go); their tests skip")
endif()

# vmseal_go_program(NAME VARIANT OUT_VAR [LDFLAGS flags]): builds
# tests/go/NAME as VARIANT into ${CMAKE_CURRENT_BINARY_DIR}/go/NAME-VARIANT
# (a target vmseal_go_NAME_VARIANT, built by ALL) and sets OUT_VAR to its path.
function(vmseal_go_program name variant out_var)
  cmake_parse_arguments(GO "" "LDFLAGS" "" ${ARGN})
  if(NOT VMSEAL_GO)
    set(${out_var} "" PARENT_SCOPE)
    return()
  endif()
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/go/${name})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/go/${name}-${variant})
  set(ldflags ${GO_LDFLAGS})
  if(variant STREQUAL "static")
    set(cgo 0)
    set(mode exe)
  elseif(variant STREQUAL "pie")
    set(cgo 0)
    set(mode pie)
  elseif(variant STREQUAL "cgo")
    set(cgo 1)
    set(mode exe)
    string(APPEND ldflags " -linkmode=external")
  elseif(variant STREQUAL "cgo-internal")
    set(cgo 1)
    set(mode exe)
    string(APPEND ldflags " -linkmode=internal")
  else()
    message(FATAL_ERROR "vmseal_go_program: unknown variant ${variant}")
  endif()
  string(STRIP "${ldflags}" ldflags)
  file(GLOB sources CONFIGURE_DEPENDS ${src}/*.go ${src}/go.mod)
  set(gobuild ${CMAKE_BINARY_DIR}/go-build)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E env GOCACHE=${gobuild}/cache GOPATH=${gobuild}/path
      GOMODCACHE=${gobuild}/path/pkg/mod GOPROXY=off GOFLAGS= GO111MODULE=on GOTOOLCHAIN=local
      CGO_ENABLED=${cgo} CC=${CMAKE_C_COMPILER}
      ${VMSEAL_GO} build -buildvcs=false -trimpath -buildmode=${mode} "-ldflags=${ldflags}"
      -o ${out} .
    WORKING_DIRECTORY ${src}
    DEPENDS ${sources}
    COMMENT "go build ${name} (${variant})"
    VERBATIM)
  string(REPLACE "-" "_" target vmseal_go_${name}_${variant})
  add_custom_target(${target} ALL DEPENDS ${out})
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()
