{#- formgrader's submissions of one assignment as `convbook formgrade` serves it: without
    the autograde and feedback buttons (`convbook grade` does both; the server refuses
    those requests too). -#}
{%- extends 'nbgrader/manage_submissions.tpl' -%}

{%- block head -%}
{{ super() }}
<style>
  .convbook-hidden, td.autograde, td.generate-feedback, td.release-feedback { display: none; }
</style>
{%- endblock head -%}

{%- block messages -%}
<div class="alert alert-info" id="convbook-note">
  To grade the written answers, open
  <a href="{{ base_url }}/formgrader/gradebook/{{ assignment_id }}">Manual Grading</a>.
  Autograding and feedback are done by <code>convbook grade</code>, not here.
</div>
{%- endblock -%}

{%- block table_header -%}
<tr>
  <th>Student Name</th>
  <th class="text-center">Student ID</th>
  <th class="text-center">Timestamp</th>
  <th class="text-center">Status</th>
  <th class="text-center">Score</th>
  <th class="text-center no-sort convbook-hidden">Autograde</th>
  <th class="text-center no-sort convbook-hidden">Generate Feedback</th>
  <th class="text-center no-sort convbook-hidden">Release Feedback</th>
</tr>
{%- endblock -%}
