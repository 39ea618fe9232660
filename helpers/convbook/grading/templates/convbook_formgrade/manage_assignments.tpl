{#- formgrader's assignment list as `convbook formgrade` serves it: the assignments
    `convbook grade` graded, without the buttons that would bypass it (edit, generate,
    preview, release, collect, feedback, add an assignment; the server refuses those
    requests too) and without links to a Jupyter file browser, which does not run here. -#}
{%- extends 'nbgrader/manage_assignments.tpl' -%}

{%- block head -%}
{{ super() }}
<style>
  .convbook-hidden, td.edit, td.assign, td.preview, td.release, td.collect,
  td.generate-feedback, td.release-feedback { display: none; }
</style>
<script>
// Assignment names linked to /tree/..., a file browser this server does not have.
linkTo = function (type, path) { return function (_, el) { return el; }; };
</script>
{%- endblock -%}

{%- block messages -%}
<div class="alert alert-info" id="convbook-note">
  The assignments <code>convbook grade</code> graded. To grade the written answers, open
  <a href="{{ base_url }}/formgrader/gradebook">Manual Grading</a>; the points count once
  <code>convbook grade</code> runs again (grades.csv and the feedback pages). Generating,
  releasing, collecting, autograding and feedback are done by <code>convbook grade</code>,
  not here.
</div>
{%- endblock -%}

{%- block table_header -%}
<tr>
  <th>Name</th>
  <th class="text-center">Due Date</th>
  <th class="text-center">Status</th>
  <th class="text-center no-sort convbook-hidden">Edit</th>
  <th class="text-center no-sort convbook-hidden">Generate</th>
  <th class="text-center no-sort convbook-hidden">Preview</th>
  <th class="text-center no-sort convbook-hidden">Release</th>
  <th class="text-center no-sort convbook-hidden">Collect</th>
  <th class="text-center"># Submissions</th>
  <th class="text-center no-sort convbook-hidden">Generate Feedback</th>
  <th class="text-center no-sort convbook-hidden">Release Feedback</th>
</tr>
{%- endblock -%}

{%- block table_footer -%}
{%- endblock -%}
