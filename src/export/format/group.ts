import type { DecodedResource, DecodedScope, DecodedSpan } from '../decoder';

export interface ScopeGroup {
  scope: DecodedScope | undefined;
  spans: DecodedSpan[];
}

export interface ResourceGroup {
  resource: DecodedResource | undefined;
  scopes: ScopeGroup[];
}

/**
 * Groups spans by resource, then by instrumentation scope, in order of first
 * appearance (the decoder shares one object per resource and scope of a batch).
 */
export function groupSpans(spans: readonly DecodedSpan[]): ResourceGroup[] {
  const groups: ResourceGroup[] = [];
  const byResource = new Map<DecodedResource | undefined, { group: ResourceGroup; byScope: Map<DecodedScope | undefined, ScopeGroup> }>();
  for (const span of spans) {
    let entry = byResource.get(span.resource);
    if (entry === undefined) {
      entry = { group: { resource: span.resource, scopes: [] }, byScope: new Map() };
      byResource.set(span.resource, entry);
      groups.push(entry.group);
    }
    let scopeGroup = entry.byScope.get(span.scope);
    if (scopeGroup === undefined) {
      scopeGroup = { scope: span.scope, spans: [] };
      entry.byScope.set(span.scope, scopeGroup);
      entry.group.scopes.push(scopeGroup);
    }
    scopeGroup.spans.push(span);
  }
  return groups;
}
