/* Ownership of the process model: setting byte strings, freeing every
 * malloc'd member of struct ps_model, and small questions about its parts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include "image/fd_kinds.h"
#include "image/model.h"
#include "image/parts.h"

/* Replace b's content with a NUL-terminated copy of data. On allocation
 * failure b is left empty (data NULL), which callers can test. */
void ps_bytes_set(struct ps_bytes *b, const char *data, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy) {
		if (len)
			memcpy(copy, data, len);
		copy[len] = '\0';
	}
	free(b->data);   /* after the copy: data may point into b->data */
	b->data = copy;
	b->len = copy ? len : 0;
}

void ps_bytes_free(struct ps_bytes *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

void ps_strlist_free(struct ps_strlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		ps_bytes_free(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

void ps_image_meta_free(struct ps_image_meta *m)
{
	for (size_t i = 0; i < m->nfiles; i++)
		free(m->files[i].name);
	free(m->files);
	free(m->by_name);
	memset(m, 0, sizeof(*m));
}

const struct ps_image_file *ps_image_file_find(const struct ps_image_meta *m, const char *name)
{
	size_t lo = 0, hi = m->nfiles;

	if (!m->by_name) {   /* a meta built for encoding: no index */
		for (size_t i = 0; i < m->nfiles; i++)
			if (strcmp(m->files[i].name, name) == 0)
				return &m->files[i];
		return NULL;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ps_image_file *f = &m->files[m->by_name[mid]];
		int c = strcmp(name, f->name);

		if (c == 0)
			return f;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void ps_process_free(struct ps_process *p)
{
	ps_bytes_free(&p->exe);
	ps_bytes_free(&p->cwd);
	ps_bytes_free(&p->root);
	ps_strlist_free(&p->cmdline);
	ps_strlist_free(&p->environ);
	free(p->creds.groups);
	free(p->mm.auxv);
	free(p->timers);
	free(p->children);
	memset(p, 0, sizeof(*p));
}

static void mapping_free(struct ps_mapping *m)
{
	ps_bytes_free(&m->path);
	for (size_t i = 0; i < m->nvm_flags; i++)
		free(m->vm_flags[i]);
	free(m->vm_flags);
	free(m->content);
	free(m->data);
	if (m->aio)
		free(m->aio->events);
	free(m->aio);
	free(m->sysv);
	free(m->guards);
	memset(m, 0, sizeof(*m));
}

void ps_maps_free(struct ps_maps *maps)
{
	for (size_t i = 0; i < maps->count; i++)
		mapping_free(&maps->items[i]);
	free(maps->items);
	maps->items = NULL;
	maps->count = 0;
}

void ps_thread_free(struct ps_thread *t)
{
	free(t->xsave);
	free(t->pending);
	memset(t, 0, sizeof(*t));
}

void ps_signals_free(struct ps_signals *s)
{
	free(s->shared_pending);
	memset(s, 0, sizeof(*s));
}

void ps_seccomp_free(struct ps_seccomp *s)
{
	for (size_t i = 0; i < s->nfilters; i++)
		free(s->filters[i].insns);
	free(s->filters);
	free(s->threads);
	memset(s, 0, sizeof(*s));
}

void ps_fd_free(struct ps_fd *fd)
{
	const struct ps_fd_kind_ops *ops = ps_fd_ops(fd);

	if (ops->free)
		ops->free(fd);
	free(fd->kind_name);
	ps_bytes_free(&fd->path);
	free(fd->unsupported_reason);
	free(fd->data);
	free(fd->bytes);
	memset(fd, 0, sizeof(*fd));
}

int ps_fd_has_content(const struct ps_fd *f)
{
	return (f->kind == PS_FD_KIND_FILE && f->type == PS_FD_REG && f->deleted) ||
	       f->kind == PS_FD_KIND_MEMFD;
}

int ps_fd_is_socket(const struct ps_fd *f)
{
	return f->kind == PS_FD_KIND_UNIX || f->kind == PS_FD_KIND_INET;
}

const struct ps_fd *ps_fd_of_file(const struct ps_fds *fds, uint32_t dev_major,
				  uint32_t dev_minor, uint64_t ino)
{
	for (size_t i = 0; i < fds->count; i++) {
		const struct ps_fd *f = &fds->items[i];

		if (f->supported && !f->is_dup && ps_fd_has_content(f) && f->ino == ino &&
		    f->dev_major == dev_major && f->dev_minor == dev_minor)
			return f;
	}
	return NULL;
}

void ps_fds_free(struct ps_fds *fds)
{
	for (size_t i = 0; i < fds->count; i++)
		ps_fd_free(&fds->items[i]);
	free(fds->items);
	fds->items = NULL;
	fds->count = 0;
}

void ps_model_free(struct ps_model *m)
{
	ps_image_meta_free(&m->meta);
	for (size_t i = 0; i < ps_nparts; i++)
		if (ps_parts[i].free)
			ps_parts[i].free(m);
}

/* "/run/app.sock", "@name" (abstract), "127.0.0.1:80", for sentences. */
void ps_sockaddr_describe(int family, const struct ps_sockaddr *a, char *buf, size_t len)
{
	const struct sockaddr_un *un = (const void *)a->sa;
	const struct sockaddr_in *in = (const void *)a->sa;
	const struct sockaddr_in6 *in6 = (const void *)a->sa;
	size_t n = a->len > offsetof(struct sockaddr_un, sun_path)
			   ? a->len - offsetof(struct sockaddr_un, sun_path) : 0;
	char ip[64] = "";

	if (family == AF_UNIX && n && un->sun_path[0] == '\0')
		snprintf(buf, len, "@%.*s", (int)(n - 1), un->sun_path + 1);
	else if (family == AF_UNIX)
		snprintf(buf, len, "%.*s", (int)strnlen(un->sun_path, n), un->sun_path);
	else if (family == AF_INET && inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip)))
		snprintf(buf, len, "%s:%u", ip, ntohs(in->sin_port));
	else if (inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip)))
		snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
	else
		snprintf(buf, len, "?");
}
