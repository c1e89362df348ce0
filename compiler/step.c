/* SPDX-License-Identifier: BSD-2-Clause */
/* cpk: the step table (see step.h). A new table step is one line here. */
#include "step.h"

#include <string.h>

const struct step_ops *const step_table[] = {
	&step_set_status,
	&step_delete_key,
	&step_extradite,
	&step_registry_update,
};
const size_t step_table_len = sizeof(step_table) / sizeof(step_table[0]);

const struct step_ops *
step_find(const char *name)
{
	size_t i;

	for (i = 0; i < step_table_len; i++)
		if (strcmp(step_table[i]->name, name) == 0)
			return step_table[i];
	return NULL;
}
