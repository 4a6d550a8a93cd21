/* SPDX-License-Identifier: ISC */
/*
 * strlcpy for C libraries without it (glibc before 2.38).
 */
#include <string.h>

#include "tickd.h"

/* Copies src into dst of size bytes, always NUL-terminated; strlen(src). */
size_t
strlcpy(char *dst, const char *src, size_t size)
{
	size_t	len = strlen(src);

	if (size != 0) {
		if (len >= size)
			size--;
		else
			size = len;
		memcpy(dst, src, size);
		dst[size] = '\0';
	}
	return (len);
}
