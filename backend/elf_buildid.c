/* ELF build-ids (NT_GNU_BUILD_ID notes, owner "GNU") of mapped files, read
 * with libelf from PT_NOTE segments, or SHT_NOTE sections as a fallback. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <gelf.h>
#include <libelf.h>

#include "backend/elf_buildid.h"

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif

static pthread_once_t libelf_once = PTHREAD_ONCE_INIT;
static int libelf_ready;

static void init_libelf(void)
{
	libelf_ready = elf_version(EV_CURRENT) != EV_NONE;
}

static int write_hex(const unsigned char *id, size_t n, char *out, size_t outlen)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (n == 0)
		return -ENOENT;
	if (outlen < 2 * n + 1)
		return -ERANGE;
	for (i = 0; i < n; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * n] = '\0';
	return 0;
}

/* Looks through one block of notes; 0 when the build-id was found. */
static int build_id_in_notes(Elf_Data *data, char *out, size_t outlen)
{
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	if (!data || !data->d_buf)
		return -ENOENT;
	while (off < data->d_size &&
	       (next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp((const char *)data->d_buf + name_off, "GNU", 4) == 0)
			return write_hex((const unsigned char *)data->d_buf + desc_off,
					 nh.n_descsz, out, outlen);
		off = next;
	}
	return -ENOENT;
}

static int build_id_from_segments(Elf *elf, char *out, size_t outlen)
{
	size_t phnum, i;
	int rc;

	if (elf_getphdrnum(elf, &phnum) != 0)
		return -ENOENT;
	for (i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		Elf_Data *data;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE || ph.p_filesz == 0)
			continue;
		data = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
					    ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		rc = build_id_in_notes(data, out, outlen);
		if (rc != -ENOENT)
			return rc;
	}
	return -ENOENT;
}

static int build_id_from_sections(Elf *elf, char *out, size_t outlen)
{
	Elf_Scn *scn = NULL;
	int rc;

	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		rc = build_id_in_notes(elf_getdata(scn, NULL), out, outlen);
		if (rc != -ENOENT)
			return rc;
	}
	return -ENOENT;
}

int ps_elf_build_id(int fd, char *out, size_t outlen)
{
	struct stat st;
	Elf *elf;
	int rc;

	if (outlen > 0)
		out[0] = '\0';
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		return -ENOENT;
	pthread_once(&libelf_once, init_libelf);
	if (!libelf_ready)
		return -ENOSYS;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -EIO;
	if (elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		return -ENOENT;
	}
	rc = build_id_from_segments(elf, out, outlen);
	if (rc == -ENOENT)
		rc = build_id_from_sections(elf, out, outlen);
	elf_end(elf);
	if (rc < 0 && outlen > 0)
		out[0] = '\0';
	return rc;
}
