# CPack post-build script (cmake/install.cmake): CPack's DEB generator sums the size of
# every symlink's target into Installed-Size, so the container bundle's ~270 busybox
# applet links count as 270 copies of busybox (575 MB instead of 56 MB; apt checks
# free space against it). Re-packs each .deb with the size dpkg itself would give
# (du of the tree: a link counts as a link).
foreach(deb IN LISTS CPACK_PACKAGE_FILES)
    if(NOT deb MATCHES "\\.deb$")
        continue()
    endif()
    set(tree "${deb}.tree")
    file(REMOVE_RECURSE "${tree}")
    execute_process(COMMAND dpkg-deb -R "${deb}" "${tree}" COMMAND_ERROR_IS_FATAL ANY)
    execute_process(COMMAND du -sk --exclude=DEBIAN "${tree}" OUTPUT_VARIABLE du
                    COMMAND_ERROR_IS_FATAL ANY)
    string(REGEX MATCH "^[0-9]+" kib "${du}")
    file(READ "${tree}/DEBIAN/control" control)
    string(REGEX REPLACE "Installed-Size: [0-9]+" "Installed-Size: ${kib}" control "${control}")
    file(WRITE "${tree}/DEBIAN/control" "${control}")
    execute_process(COMMAND dpkg-deb -Zgzip --root-owner-group -b "${tree}" "${deb}"
                    OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
    file(REMOVE_RECURSE "${tree}")
    message(STATUS "Installed-Size of ${deb}: ${kib} KiB")
endforeach()
