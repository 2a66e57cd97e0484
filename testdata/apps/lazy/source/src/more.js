export function more() {
  return 'more of v1';
}
