# coffer_loaded_library(TARGET t PREFIX P NAME n [HINTS dir...])
#
# For a library that `t` loads on first use (src/base/shared_library.h)
# rather than links: finds the development link `libn.so` that the headers
# `t` compiles against belong to, and gives `t` the two facts the loader
# needs, as compile definitions:
#   P_SONAME   the soname recorded in that library ("libcurl.so.4"): the
#              ABI those headers describe, as a linker would have recorded
#              it in DT_NEEDED;
#   P_PACKAGE  the Debian package that holds the library ("libcurl4"), for
#              the error a machine without it gets; "" where dpkg does not
#              know the file.
# A library without a soname, or none found, stops the configuration.
function(coffer_loaded_library)
  cmake_parse_arguments(L "" "TARGET;PREFIX;NAME" "HINTS" ${ARGN})
  find_library(${L_PREFIX}_DEV_LIBRARY NAMES ${L_NAME} HINTS ${L_HINTS} NO_CACHE)
  if(NOT ${L_PREFIX}_DEV_LIBRARY)
    message(FATAL_ERROR "lib${L_NAME}.so not found: install its development package (make deps)")
  endif()
  set(library "${${L_PREFIX}_DEV_LIBRARY}")
  execute_process(COMMAND "${CMAKE_OBJDUMP}" -p "${library}" OUTPUT_VARIABLE headers
                  RESULT_VARIABLE failed ERROR_QUIET)
  if(failed OR NOT headers MATCHES "SONAME +([^\n ]+)")
    message(FATAL_ERROR "no soname in ${library} (${CMAKE_OBJDUMP} -p)")
  endif()
  set(soname "${CMAKE_MATCH_1}")
  set(package "")
  file(REAL_PATH "${library}" real)
  find_program(COFFER_DPKG dpkg)
  if(COFFER_DPKG)
    get_filename_component(dir "${real}" DIRECTORY)
    # The runtime package holds the soname's file, not the development link.
    execute_process(COMMAND "${COFFER_DPKG}" -S "${dir}/${soname}" OUTPUT_VARIABLE owner
                    RESULT_VARIABLE failed ERROR_QUIET)
    if(NOT failed AND owner MATCHES "^([^:,]+)")
      set(package "${CMAKE_MATCH_1}")
    endif()
  endif()
  message(STATUS "${L_NAME}: loaded on first use as ${soname} (package: ${package})")
  target_compile_definitions(${L_TARGET} PRIVATE ${L_PREFIX}_SONAME="${soname}"
                                                 ${L_PREFIX}_PACKAGE="${package}")
endfunction()
