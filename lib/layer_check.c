/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Linked with one layer of libkhib whole and only the layers below it
 * (lib/meson.build): it links only while that layer calls nothing above it.
 */
int main(void)
{
	return 0;
}
