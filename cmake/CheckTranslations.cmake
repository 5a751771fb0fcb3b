# Fails the build when a window catalogue lacks a translation: a string marked unfinished, or a
# tr() in the sources that the catalogue does not have yet. Runs lupdate on a copy, so the
# catalogue in the source tree is never rewritten by a build.
#   cmake -DLUPDATE=... -DPROJECT_GENERATOR=... -DPROJECT_IN=... -DWORK_DIR=...
#         -DTS_FILES=a.ts;b.ts -DSTAMP=... -P CheckTranslations.cmake
set(project_json "${WORK_DIR}/check_project.json")
execute_process(
    COMMAND ${CMAKE_COMMAND} -DIN_FILE=${PROJECT_IN} -DOUT_FILE=${project_json}
            -P ${PROJECT_GENERATOR}
    RESULT_VARIABLE result)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "translations: could not describe the sources to lupdate")
endif()

set(problems "")
foreach(ts IN LISTS TS_FILES)
    get_filename_component(name "${ts}" NAME)
    set(copy "${WORK_DIR}/check_${name}")
    configure_file("${ts}" "${copy}" COPYONLY)
    execute_process(
        COMMAND ${LUPDATE} -silent -project ${project_json} -no-obsolete -locations none
                -ts ${copy}
        RESULT_VARIABLE result OUTPUT_QUIET ERROR_VARIABLE said)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "translations: lupdate failed on ${name}: ${said}")
    endif()
    file(READ "${copy}" text)
    # The strings as a translator sees them, and no ';', which would split CMake's lists.
    foreach(pair "&amp\;=&" "&lt\;=<" "&gt\;=>" "&quot\;=\"" "&apos\;='")
        string(REPLACE "=" ";" pair "${pair}")
        list(GET pair 0 entity)
        list(GET pair 1 character)
        string(REPLACE "${entity}" "${character}" text "${text}")
    endforeach()
    string(REPLACE ";" "," text "${text}")
    # One <message> at a time: its source, and whether its translation is unfinished.
    string(REGEX MATCHALL "<source>[^<]*</source>[^<]*(<comment>[^<]*</comment>[^<]*)?<translation type=\"unfinished\""
           unfinished "${text}")
    list(LENGTH unfinished count)
    if(count GREATER 0)
        set(examples "")
        set(shown 0)
        foreach(entry IN LISTS unfinished)
            if(shown LESS 5)
                string(REGEX MATCH "<source>([^<]*)</source>" source "${entry}")
                string(APPEND examples "\n    \"${CMAKE_MATCH_1}\"")
                math(EXPR shown "${shown} + 1")
            endif()
        endforeach()
        string(APPEND problems
               "\n  ${name}: ${count} string(s) without a translation, among them:${examples}")
    endif()
endforeach()

if(problems)
    message(FATAL_ERROR
        "translations: the window would show these in English:${problems}\n"
        "Refresh the catalogues (cmake --build <build dir> --target update_translations), "
        "translate the entries marked unfinished (translations/README.md), and build again.")
endif()
file(TOUCH "${STAMP}")
