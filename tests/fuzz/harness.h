/* SPDX-License-Identifier: ISC */
/*
 * harness.h: an in-process tickd for the fuzz targets fuzz-ws, fuzz-json
 * and fuzz-resp; see harness.c.
 */
#ifndef TICKD_FUZZ_HARNESS_H
#define TICKD_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

void	harness_init(int resp);
void	harness_run(const uint8_t *, size_t, size_t chunk,
	    int authenticate);
void	harness_resp_run(const uint8_t *, size_t, size_t chunk,
	    int authenticated);
size_t	harness_text_frame(const uint8_t *, size_t, uint8_t **);

#endif /* TICKD_FUZZ_HARNESS_H */
