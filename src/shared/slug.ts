/**
 * Lower-case ASCII letters and digits joined by single dashes; accents dropped; at most 60 characters;
 * `organization` if nothing is left. Used in archive file names and generated admin emails.
 */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return slug || 'organization';
}
